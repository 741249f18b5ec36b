import { describe, expect, it } from 'vitest';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import { assertDeclaration, checkDeclaration } from '../../core/validation/declaration.js';
import { DeclarationType, DocumentType, EnterprisePriority } from '../../proto/gen/portstream/v1/customs.js';
import type { Declaration, GoodsItem } from '../../proto/gen/portstream/v1/customs.js';

const goods = (over: Partial<GoodsItem> = {}): GoodsItem => ({
  hsCode: '84713020',
  description: 'laptops',
  quantity: 10,
  unit: 'PCE',
  customsValue: { currencyCode: 'USD', units: 5000, nanos: 0 },
  originCountry: 'CN',
  grossWeightKg: 30,
  ...over,
});

const valid = (over: Partial<Declaration> = {}): Declaration => ({
  declarationNumber: '108625440120',
  type: DeclarationType.IMPORT,
  declarantTaxCode: '0100109106',
  traderTaxCode: '0100109106',
  traderName: 'Viettel',
  priority: EnterprisePriority.STANDARD,
  goods: [goods()],
  containerNumbers: ['MSCU1234566', 'CSQU3054383'],
  vessel: { imoNumber: '9074729', name: 'EVER X', voyage: '2346W' },
  portOfLoading: 'CNSHA',
  portOfDischarge: 'VNHPH',
  documents: [{ type: DocumentType.COMMERCIAL_INVOICE, reference: 'INV-1' }],
  customsOffice: '03CC',
  declaredTime: new Date(),
  billNumbers: [],
  ...over,
});

describe('declaration validation', () => {
  it('accepts a complete declaration', () => {
    expect(checkDeclaration(valid())).toBeUndefined();
    expect(() => {
      assertDeclaration(valid());
    }).not.toThrow();
  });

  it.each<[string, Partial<Declaration>, string]>([
    ['missing declaration number', { declarationNumber: '' }, 'declaration.declaration_number'],
    ['type unspecified', { type: DeclarationType.UNSPECIFIED }, 'declaration.type'],
    ['export type on an import number', { type: DeclarationType.EXPORT }, 'declaration.type'],
    ['bad declarant tax code', { declarantTaxCode: '0100109107' }, 'declaration.declarant_tax_code'],
    ['bad trader tax code', { traderTaxCode: '12' }, 'declaration.trader_tax_code'],
    ['bad port of loading', { portOfLoading: 'XX' }, 'declaration.port_of_loading'],
    ['bad office', { customsOffice: '3' }, 'declaration.customs_office'],
    ['no goods', { goods: [] }, 'declaration.goods'],
    ['bad HS code', { goods: [goods(), goods({ hsCode: '770100' })] }, 'declaration.goods[1].hs_code'],
    ['bad origin', { goods: [goods({ originCountry: 'XX' })] }, 'declaration.goods[0].origin_country'],
    ['zero quantity', { goods: [goods({ quantity: 0 })] }, 'declaration.goods[0].quantity'],
    ['no value', { goods: [goods({ customsValue: undefined })] }, 'declaration.goods[0].customs_value'],
    [
      'bad currency',
      { goods: [goods({ customsValue: { currencyCode: 'XYZ', units: 1, nanos: 0 } })] },
      'declaration.goods[0].customs_value.currency_code',
    ],
    ['bad container', { containerNumbers: ['MSCU1234565'] }, 'declaration.container_numbers[0]'],
    [
      'repeated container',
      { containerNumbers: ['MSCU1234566', 'MSCU1234566'] },
      'declaration.container_numbers[1]',
    ],
    [
      'bad IMO',
      { vessel: { imoNumber: '9456789', name: '', voyage: 'V1' } },
      'declaration.vessel.imo_number',
    ],
    [
      'document without reference',
      { documents: [{ type: DocumentType.IMPORT_LICENCE, reference: ' ' }] },
      'declaration.documents[0].reference',
    ],
  ])('rejects %s', (_name, over, field) => {
    expect(checkDeclaration(valid(over))?.field).toBe(field);
  });

  it('throws INVALID_ARGUMENT with the field path', () => {
    let err: unknown;
    try {
      assertDeclaration(valid({ goods: [goods({ unit: 'kilograms' })] }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PortstreamError);
    expect((err as PortstreamError).code).toBe(ErrorCode.InvalidArgument);
    expect((err as PortstreamError).field).toBe('declaration.goods[0].unit');
    expect(() => {
      assertDeclaration(undefined);
    }).toThrow(/declaration: required/);
  });
});
