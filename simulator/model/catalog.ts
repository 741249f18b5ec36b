// Static reference data of the simulated port: Hai Phong (VNHPH) terminals, carriers calling there
// with their carrier codes and ISO 6346 owner prefixes, vessels, trading ports and partners, and goods. Terminal codes are the
// simulator's own 2-6 letter abbreviations (there is no public registry of Hai Phong terminal codes).
import { imoNumber } from './ids.js';

export const PORT = 'VNHPH';

export interface Terminal {
  readonly code: string;
  readonly name: string;
  readonly berths: readonly string[];
  readonly blocks: readonly string[];
}

export const TERMINALS: readonly Terminal[] = [
  {
    code: 'HICT',
    name: 'Hai Phong International Container Terminal (Lach Huyen)',
    berths: ['HICT1', 'HICT2'],
    blocks: ['A1', 'A2', 'B1', 'B2'],
  },
  { code: 'TANVU', name: 'Tan Vu Terminal', berths: ['TV1', 'TV2', 'TV3'], blocks: ['TA', 'TB', 'TC'] },
  { code: 'DINHVU', name: 'Dinh Vu Port', berths: ['DV1', 'DV2'], blocks: ['D1', 'D2'] },
  { code: 'CHUAVE', name: 'Chua Ve Terminal', berths: ['CV1', 'CV2'], blocks: ['C1', 'C2'] },
  { code: 'NDV', name: 'Nam Dinh Vu Port', berths: ['NDV1', 'NDV2'], blocks: ['N1', 'N2', 'N3'] },
  { code: 'TC189', name: 'Tan Cang 189', berths: ['TC1'], blocks: ['T1'] },
  { code: 'GREEN', name: 'Green Port (VIMC Dinh Vu)', berths: ['GP1', 'GP2'], blocks: ['G1', 'G2'] },
];

export interface Carrier {
  readonly name: string;
  /** SMDG/SCAC-style code its manifests are filed under; `up`'s carrier token holds them all. */
  readonly code: string;
  readonly prefixes: readonly string[];
  readonly vessels: readonly { readonly name: string; readonly imo: string }[];
}

// IMO numbers: six fixed leading digits per ship, check digit computed (see ids.imoNumber).
const v = (name: string, first6: string): { name: string; imo: string } => ({ name, imo: imoNumber(first6) });

export const CARRIERS: readonly Carrier[] = [
  {
    name: 'Maersk',
    code: 'MAEU',
    prefixes: ['MAEU', 'MSKU', 'MRKU'],
    vessels: [v('MAERSK HAI PHONG', '977541'), v('MAERSK JAKARTA', '935662')],
  },
  {
    name: 'MSC',
    code: 'MSCU',
    prefixes: ['MSCU', 'MEDU', 'TGHU'],
    vessels: [v('MSC IRENE', '970332'), v('MSC ANNA', '973002')],
  },
  {
    name: 'CMA CGM',
    code: 'CMDU',
    prefixes: ['CMAU', 'TGHU'],
    vessels: [v('CMA CGM TAGE', '954110'), v('APL SENTOSA', '963236')],
  },
  {
    name: 'COSCO',
    code: 'COSU',
    prefixes: ['CSNU', 'CBHU', 'CCLU'],
    vessels: [v('COSCO HAIPHONG', '946621'), v('XIN HONG KONG', '932044')],
  },
  {
    name: 'ONE',
    code: 'ONEY',
    prefixes: ['ONEU', 'TCLU'],
    vessels: [v('ONE CRANE', '980642'), v('ONE MINATO', '946520')],
  },
  {
    name: 'Evergreen',
    code: 'EGLV',
    prefixes: ['EGHU', 'EISU', 'EMCU'],
    vessels: [v('EVER CONCISE', '963180'), v('EVER BLOOM', '932870')],
  },
  {
    name: 'Hapag-Lloyd',
    code: 'HLCU',
    prefixes: ['HLXU', 'HLBU'],
    vessels: [v('HAMBURG EXPRESS', '938022'), v('SEASPAN HAIPHONG', '986115')],
  },
  {
    name: 'Yang Ming',
    code: 'YMLU',
    prefixes: ['YMLU', 'YMMU'],
    vessels: [v('YM INCEPTION', '946012'), v('YM CERTAINTY', '963700')],
  },
  {
    name: 'HMM',
    code: 'HDMU',
    prefixes: ['HMMU', 'HDMU'],
    vessels: [v('HMM PROMISE', '972533'), v('HYUNDAI PLATINUM', '934762')],
  },
  {
    name: 'ZIM',
    code: 'ZIMU',
    prefixes: ['ZIMU', 'ZCSU'],
    vessels: [v('ZIM XIAMEN', '974100'), v('ZIM ASIA', '961320')],
  },
];

/** Ports of loading/discharge for Hai Phong services (intra-Asia and transpacific feeders). */
export const PARTNER_PORTS: readonly { readonly locode: string; readonly country: string }[] = [
  { locode: 'CNSHA', country: 'CN' },
  { locode: 'CNNGB', country: 'CN' },
  { locode: 'HKHKG', country: 'HK' },
  { locode: 'SGSIN', country: 'SG' },
  { locode: 'KRPUS', country: 'KR' },
  { locode: 'JPTYO', country: 'JP' },
  { locode: 'TWKHH', country: 'TW' },
  { locode: 'THLCH', country: 'TH' },
  { locode: 'MYPKG', country: 'MY' },
];

/** Weighted so that standard dry boxes dominate, as in any container port. */
export const SIZE_TYPES: readonly string[] = ['22G1', '22G1', '42G1', '45G1', '45G1', '45G1', '45R1', '22T6'];

export interface Goods {
  readonly hs: string;
  readonly description: string;
  readonly unit: string;
  /** Reference price per unit in USD; risky declarations go far under it. */
  readonly unitPriceUsd: number;
  /** How it is packed, UN/ECE Recommendation 21 code (CT carton, BG bag, PX pallet, CS case, BE bundle). */
  readonly pack: string;
  readonly licence?: 'import' | 'export';
}

export const IMPORT_GOODS: readonly Goods[] = [
  {
    hs: '85423100',
    description: 'Integrated circuits, processors',
    unit: 'PCE',
    pack: 'CT',
    unitPriceUsd: 12,
  },
  { hs: '84713020', description: 'Laptop computers', unit: 'PCE', pack: 'CT', unitPriceUsd: 420 },
  { hs: '52052200', description: 'Cotton yarn, combed', unit: 'KGM', pack: 'BG', unitPriceUsd: 3.1 },
  { hs: '39011092', description: 'Polyethylene granules', unit: 'KGM', pack: 'BG', unitPriceUsd: 1.2 },
  { hs: '72085100', description: 'Hot-rolled steel plate', unit: 'TNE', pack: 'BE', unitPriceUsd: 640 },
  { hs: '87089999', description: 'Motor vehicle parts', unit: 'PCE', pack: 'CT', unitPriceUsd: 35 },
];

export const EXPORT_GOODS: readonly Goods[] = [
  { hs: '61091010', description: 'Cotton T-shirts', unit: 'PCE', pack: 'CT', unitPriceUsd: 4.5 },
  { hs: '64039990', description: 'Leather footwear', unit: 'PR', pack: 'CT', unitPriceUsd: 18 },
  { hs: '94036090', description: 'Wooden furniture', unit: 'PCE', pack: 'PX', unitPriceUsd: 85 },
  { hs: '85176299', description: 'Telephone network equipment', unit: 'PCE', pack: 'PX', unitPriceUsd: 60 },
  { hs: '03061719', description: 'Frozen shrimps', unit: 'KGM', pack: 'CT', unitPriceUsd: 9 },
  { hs: '10063099', description: 'Milled rice', unit: 'TNE', pack: 'BG', unitPriceUsd: 560 },
];

/** Goods the risk rules treat as high risk: weapons (93), precursor chemicals (29), tobacco (24). */
export const RISKY_GOODS: readonly Goods[] = [
  {
    hs: '93032000',
    description: 'Sporting shotguns',
    unit: 'PCE',
    pack: 'CT',
    unitPriceUsd: 700,
    licence: 'import',
  },
  {
    hs: '29393000',
    description: 'Caffeine and its salts',
    unit: 'KGM',
    pack: 'BG',
    unitPriceUsd: 20,
    licence: 'import',
  },
  {
    hs: '29143100',
    description: 'Phenylacetone',
    unit: 'KGM',
    pack: 'BG',
    unitPriceUsd: 40,
    licence: 'import',
  },
  {
    hs: '24022090',
    description: 'Cigarettes containing tobacco',
    unit: 'THS',
    pack: 'CS',
    unitPriceUsd: 30,
    licence: 'import',
  },
];

export const TRADERS: readonly string[] = [
  'Cong ty TNHH Dien tu Hai Phong',
  'Cong ty CP Det may Dinh Vu',
  'Cong ty TNHH Go noi that Trang Due',
  'Cong ty CP Thuy san Cat Hai',
  'Cong ty TNHH Thep Nam Dinh Vu',
  'Cong ty TNHH Linh kien o to VSIP Hai Phong',
  'Cong ty CP Giay da Kien An',
  'Cong ty TNHH Nhua Trang Kenh',
  'Cong ty CP Nong san Tien Lang',
  'Cong ty TNHH Thiet bi vien thong Do Son',
];

/**
 * The trading firm of `up`'s firm token (core/auth/tokens.ts ensureDevTokens): one of each day's traders, so that
 * token sees its own bills and containers in the dashboard.
 */
export const DEV_FIRM: { readonly taxCode: string; readonly name: string } = {
  taxCode: '0100109106',
  name: 'Cong ty CP Logistics Hai Phong',
};

/** Shippers and consignees abroad, by country: the other end of imports, exports and transshipments. */
export const FOREIGN_FIRMS: readonly { readonly name: string; readonly country: string }[] = [
  { name: 'Ningbo Huaxin Electronics Co., Ltd.', country: 'CN' },
  { name: 'Shanghai Yongda Textile Co., Ltd.', country: 'CN' },
  { name: 'Pacific Rim Trading Ltd.', country: 'HK' },
  { name: 'Straits Components Pte. Ltd.', country: 'SG' },
  { name: 'Daesung Steel Co., Ltd.', country: 'KR' },
  { name: 'Kansai Precision Parts K.K.', country: 'JP' },
  { name: 'Formosa Polymer Corp.', country: 'TW' },
  { name: 'Siam Agro Foods Co., Ltd.', country: 'TH' },
  { name: 'Klang Rubber Industries Sdn. Bhd.', country: 'MY' },
];
