// Dead letters: the one record format and writer live in core/consumer/dead-letter.ts; kept here so the
// decider's import stays as it is.
export { deadLetter, type DeadLetterRecord } from '../../core/consumer/dead-letter.js';
