/**
 * GB/T 28181-2016 Annex D: the 20-digit codes of devices, channels, platforms and users.
 * Digits 1–8 are the centre code (province, city, county by GB/T 2260, then the grass-roots
 * unit), 9–10 the industry, 11–13 the type, 14 the network, 15–20 a serial number. The first
 * ten digits make the SIP domain (SIP 域) by common practice.
 */

/** Table D.1's type codes (digits 11–13) that a community meets. */
export const GB_TYPES: Readonly<Record<string, string>> = {
  '111': 'DVR',
  '112': 'video server',
  '113': 'encoder',
  '114': 'decoder',
  '115': 'video matrix',
  '116': 'audio matrix',
  '117': 'alarm controller',
  '118': 'NVR',
  '131': 'camera',
  '132': 'IP camera',
  '133': 'display',
  '134': 'alarm input',
  '135': 'alarm output',
  '136': 'audio input',
  '137': 'audio output',
  '138': 'mobile transmitter',
  '139': 'peripheral',
  '200': 'SIP server (platform)',
  '201': 'web server',
  '202': 'media server',
  '203': 'proxy server',
  '204': 'security server',
  '205': 'alarm server',
  '206': 'database server',
  '207': 'GIS server',
  '208': 'management server',
  '209': 'access gateway',
  '210': 'media storage server',
  '211': 'signalling security gateway',
  '215': 'business group',
  '216': 'virtual organisation',
  '300': 'centre user',
  '400': 'terminal user',
};

/** Channels that carry video: cameras and IP cameras (an NVR's channels are these too). */
const VIDEO_TYPES = new Set(['131', '132']);

export interface GbId {
  id: string;
  /** Digits 1–8: province, city and county (GB/T 2260), and the grass-roots unit. */
  centre: string;
  county: string;
  /** Digits 9–10 (Table D.2): 01 is a community (社会治安社区接入). */
  industry: string;
  type: string;
  typeName?: string;
  /** Digit 14: 0–4 video private network, 5 public-security network, 6 e-government, 7 Internet, 8 social resources. */
  network: string;
  serial: string;
}

export const GB_ID_PATTERN = '^[0-9]{20}$';

export function parseGbId(id: string): GbId | undefined {
  if (!/^\d{20}$/.test(id)) return undefined;
  const type = id.slice(10, 13);
  return {
    id,
    centre: id.slice(0, 8),
    county: id.slice(0, 6),
    industry: id.slice(8, 10),
    type,
    ...(GB_TYPES[type] ? { typeName: GB_TYPES[type] } : {}),
    network: id.slice(13, 14),
    serial: id.slice(14),
  };
}

/** A channel the gateway can INVITE for video. */
export function isVideoChannel(id: string): boolean {
  return VIDEO_TYPES.has(id.slice(10, 13)) && /^\d{20}$/.test(id);
}

/**
 * The gateway's own id when the config names none: its county (from its grid code), grass-roots
 * unit 00, industry 01 (community), type 200 (platform), network 0, serial 000001.
 */
export function defaultSipId(grid: string): string {
  return `${grid.slice(0, 6)}00012000000001`;
}

/** An id for one of the gateway's own cameras towards an upper platform: its domain, type 132, a serial. */
export function cameraGbId(sipId: string, serial: number): string {
  if (!Number.isInteger(serial) || serial < 1 || serial > 999_999) throw new Error(`camera serial ${serial} out of 1..999999`);
  return `${sipId.slice(0, 10)}132${sipId.slice(13, 14)}${String(serial).padStart(6, '0')}`;
}
