// The part of node-onvif 0.1.x that devices/camera/onvif.ts uses (the package ships no types).
declare module 'node-onvif/lib/modules/device.js' {
  interface OnvifProfile {
    token: string;
    name: string;
    snapshot?: string;
    stream: { udp?: string; http?: string; rtsp?: string };
    video: {
      source?: { token: string; name: string; bounds: { width: number; height: number; x: number; y: number } };
      encoder?: {
        token: string;
        name: string;
        resolution: { width: number; height: number };
        quality: number;
        framerate: number;
        bitrate: number;
        encoding: string;
      };
    };
  }
  interface OnvifDeviceParams {
    xaddr: string;
    user?: string;
    pass?: string;
  }
  class OnvifDevice {
    constructor(params: OnvifDeviceParams);
    init(): Promise<unknown>;
    time_diff: number;
    information: Record<string, string> | null;
    profile_list: OnvifProfile[];
    services: { device: unknown; media: unknown; events: { xaddr: string } | null };
    fetchSnapshot(): Promise<{ headers: Record<string, string>; body: Buffer }>;
  }
  export = OnvifDevice;
}

declare module 'node-onvif/lib/modules/soap.js' {
  interface ParsedUrl {
    protocol: string | null;
    hostname: string | null;
    port: string | null;
    pathname: string | null;
  }
  const soap: {
    HTTP_TIMEOUT: number;
    createRequestSoap(params: { body: string; xmlns: string[]; diff?: number; user?: string; pass?: string }): string;
    requestCommand(oxaddr: ParsedUrl, method: string, soap: string): Promise<{ data: Record<string, unknown> }>;
  };
  export = soap;
}
