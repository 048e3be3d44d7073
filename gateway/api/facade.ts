/** What the API may see and do of a running gateway: the one place routes reach into it. */
import { maskSecrets, maskUrl } from '../../core/secrets.js';
import type { GatewayDevice } from '../devices/directory.js';
import type { Gateway } from '../gateway.js';
import type { ApiContext, DeviceView, Gb28181View } from './context.js';
import type { GbVideo } from '../gb28181.js';
import { divisionName } from '../../contracts/grid.js';

function deviceView(gw: Gateway, d: GatewayDevice): DeviceView {
  const s = gw.pipeline.deviceState(d.info.id);
  const place = divisionName(d.info.grid);
  return {
    ...d.info,
    ...(place ? { place } : {}),
    source: gw.directory.inConfig(d.info.id) ? 'config' : 'provisioned',
    online: s.online,
    ...(s.lastSeen ? { lastSeen: new Date(s.lastSeen).toISOString() } : {}),
    messages: s.messages,
    rejected: gw.rejections.countFor(d.info.id),
    lastValues: s.lastValues,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

function gb28181View(gb: GbVideo): Gb28181View {
  const s = gb.settings;
  return {
    sipId: s.sipId,
    domain: s.domain,
    ...(gb.service.port !== undefined ? { port: gb.service.port } : {}),
    transports: s.transports,
    publicHost: s.publicHost,
    devices: gb.service.devices().map((d) => {
      const { registration: r, lastKeepaliveAt, catalogAt, ...rest } = d;
      return {
        ...rest,
        ...(r
          ? {
              registration: {
                address: r.address,
                transport: r.transport,
                contact: r.contact,
                registeredAt: iso(r.registeredAt),
                expiresAt: iso(r.expiresAt),
                ...(r.userAgent ? { userAgent: r.userAgent } : {}),
                version: r.version,
              },
            }
          : {}),
        ...(lastKeepaliveAt ? { lastKeepaliveAt: iso(lastKeepaliveAt) } : {}),
        ...(catalogAt ? { catalogAt: iso(catalogAt) } : {}),
      };
    }),
    streams: gb.live.sessions().map((x) => ({
      channel: x.channel,
      device: x.device,
      transport: x.transport,
      startedAt: iso(x.startedAt),
      packets: x.receiver.stats.packets,
      bytes: x.receiver.stats.bytes,
      lost: x.receiver.stats.lost,
      refused: x.receiver.stats.refused,
      ...(x.receiver.stats.codec ? { codec: x.receiver.stats.codec } : {}),
    })),
    cascade: (gb.cascade?.view() ?? []).map((c) => ({
      sipId: c.sipId,
      host: c.host,
      port: c.port,
      transport: c.transport,
      registered: c.registered,
      ...(c.registeredAt ? { registeredAt: iso(c.registeredAt) } : {}),
      ...(c.lastError ? { lastError: c.lastError } : {}),
      keepalivesSent: c.keepalivesSent,
      alarmsSent: c.alarmsSent,
      channels: gb.upwardChannels().map((u) => ({ id: u.id, name: u.name, online: u.online, video: u.source !== undefined })),
      streams: c.streams.map((s) => ({ ...s, startedAt: iso(s.startedAt) })),
    })),
  };
}

export function apiContext(gw: Gateway): ApiContext {
  const { incidents, cameras, vision } = gw;
  return {
    health: () => gw.health(),
    ready: () => {
      const problems: string[] = [];
      if (!gw.ports) problems.push('the device broker is not listening yet');
      return { ready: problems.length === 0, problems };
    },
    devices: () => gw.devices.map((d) => deviceView(gw, d)),
    device: (id) => {
      const d = gw.directory.get(id);
      if (!d) return undefined;
      return {
        ...deviceView(gw, d),
        rejections: gw.rejections
          .latest(20, id)
          .map(({ at, channel, reason, detail, size, payloadHead }) => ({ at, channel, reason, detail, size, payloadHead })),
        activeIncidents: incidents
          .activeIncidents()
          .filter((m) => m.devices.some((x) => x.id === id))
          .map((m) => m.id),
      };
    },
    addDevice: (input) => gw.addDevice(input),
    removeDevice: (id) => gw.removeDevice(id),
    incidents: (q) => incidents.query(q),
    incident: (id) => incidents.recentIncident(id),
    command: (id, command, fields) => incidents.runCommand({ command, incidentId: id, ...fields }),
    onIncident: (listener) => incidents.onMessage(listener),
    // A dock's RTSP address carries the user and password the gateway set: never in an API answer.
    videoSources: () => [...gw.pipeline.videoSources.values()].map((v) => ({ ...v, url: maskUrl(v.url) })),
    cameras: () => cameras.health(),
    cameraSnapshot: (id) => cameras.cameras.get(id)?.snapshot(),
    isapiPushAuth: (id, method, url, authorization) => cameras.cameras.get(id)?.authenticatePush(method, url, authorization),
    isapiPush: (id, type, body) => cameras.cameras.get(id)?.receivePush(type, body) ?? { ok: false, why: 'no such camera' },
    cameraFrame: (id) => (cameras.cameras.has(id) ? vision.annotatedFrame(id) : undefined),
    vision: (limit) => ({ ...vision.health(), captures: vision.recentCaptures(limit) }),
    gb28181: () => (gw.gb28181 ? gb28181View(gw.gb28181) : undefined),
    config: () => maskSecrets(gw.config),
    metrics: () => gw.metrics.text(),
    evidence: { store: gw.evidence, secret: gw.evidenceService.linkSecret, access: gw.evidenceService.accessLog },
    captures: (limit) => gw.captures.recent(limit),
    sources: () => gw.sources.health(),
    pushSources: () => gw.sources.pushPaths(),
    push: (source, req) => gw.sources.push(source, req),
    purgeCaptures: (req) => gw.purgeCaptures(req),
  };
}
