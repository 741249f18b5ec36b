// What a declarant does after a decision, derived from its status: the part of a decision a firm is told
// (core/customs/decision-view.ts strips the rules). Names documents and offices, never the rule, threshold or
// reference that led there.
import {
  ClearanceStatus,
  DeclarationType,
  DocumentType,
  NextStepKind,
  type Declaration,
  type NextStep,
  type RuleHit,
} from '../../proto/gen/portstream/v1/customs.js';

/** Documents every document check looks at. */
const CHECKED_DOCUMENTS = [
  DocumentType.COMMERCIAL_INVOICE,
  DocumentType.PACKING_LIST,
  DocumentType.BILL_OF_LADING,
];

const LICENCE_CODE = 'LICENCE_MISSING';

export function nextSteps(decl: Declaration, status: ClearanceStatus, hits: readonly RuleHit[]): NextStep[] {
  const office = decl.customsOffice;
  const step = (kind: NextStepKind, description: string, documents: DocumentType[] = []): NextStep => ({
    kind,
    documents,
    customsOffice: office,
    description,
  });
  const documents = (): DocumentType[] => {
    const docs = [...CHECKED_DOCUMENTS];
    if (hits.some((h) => h.code === LICENCE_CODE)) {
      docs.push(
        decl.type === DeclarationType.EXPORT ? DocumentType.EXPORT_LICENCE : DocumentType.IMPORT_LICENCE,
      );
    }
    return docs;
  };
  switch (status) {
    case ClearanceStatus.CLEARED:
      return [step(NextStepKind.COLLECT_GOODS, 'goods are cleared and may be collected')];
    case ClearanceStatus.DOCUMENT_CHECK:
      return [
        step(
          NextStepKind.PRESENT_DOCUMENTS,
          `present the listed documents to customs office ${office}`,
          documents(),
        ),
      ];
    case ClearanceStatus.PHYSICAL_INSPECTION:
      return [
        step(NextStepKind.BOOK_INSPECTION, `book a physical inspection with customs office ${office}`),
        step(NextStepKind.PRESENT_DOCUMENTS, 'bring the listed documents to the inspection', documents()),
      ];
    case ClearanceStatus.REFUSED:
      return [step(NextStepKind.CONTACT_CUSTOMS, `goods are not released; contact customs office ${office}`)];
    default:
      return [];
  }
}
