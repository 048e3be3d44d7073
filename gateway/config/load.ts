/**
 * Loads one YAML config file: parse, fill defaults, validate against the schema, apply
 * environment overrides for secrets, then the checks a schema cannot express (unique ids,
 * grid prefixes). Every problem is reported at once, each naming its key path.
 */
import { modelsByName } from '../../devices/models/registry.js';
import { modbusAddress } from '../../devices/sources/modbus.js';
import { ctwingAllowList } from '../../devices/sources/ctwing.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { TSchema } from '@sinclair/typebox';
import { detectProblems } from '../../detectors/registry.js';
import { deviceKinds } from '../../devices/registry.js';
import { CATEGORIES } from '../incidents/categories.js';
import { ERRORS, GridedgeError } from '../../core/errors.js';
import { compile, configAjv, describeErrors, type Validator } from '../../core/schema.js';
import { ConfigSchema, type Config, type RawConfig } from './schema.js';
import { gridCodeProblem } from '../../contracts/grid.js';
import { maskSecretsInText } from '../../core/secrets.js';
import { isTimeZone, systemTimeZone } from '../../core/time.js';
import { configWarnings, defaultDataDir } from './warnings.js';
import { resolveGb28181 } from './gb28181.js';

/** Every problem of one config document at once (`GE_ERR_CONFIG_INVALID`), each naming its key path. */
export class ConfigError extends GridedgeError {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super('GE_ERR_CONFIG_INVALID', ERRORS.GE_ERR_CONFIG_INVALID.message(source, problems));
  }
}

const validate = compile(configAjv, ConfigSchema);
const optionValidators = new Map<string, Validator<unknown>>();
function optionValidator(kind: string, schema: TSchema): Validator<unknown> {
  let v = optionValidators.get(kind);
  if (!v) {
    v = compile(configAjv, schema);
    optionValidators.set(kind, v);
  }
  return v;
}

/** Checks (and fills defaults into) a device's options against its kind's schema. */
export function deviceOptionProblems(kindName: string, options: Record<string, unknown>, at: string): string[] {
  const kind = deviceKinds.get(kindName);
  if (!kind) return [];
  if (!kind.optionsSchema) return Object.keys(options).length ? [`${at}: kind ${kindName} takes no options`] : [];
  const check = optionValidator(kind.kind, kind.optionsSchema);
  if (check(options)) return [];
  return describeErrors(check.errors).map((line) => `${at}${line.startsWith('(top level)') ? line.slice(11) : `.${line}`}`);
}

/** `smoke-01.a` → `GRIDEDGE_DEVICE_SECRET_SMOKE_01_A` */
/** `cam-gate.1` → `GRIDEDGE_CAMERA_PASSWORD_CAM_GATE_1` */
export function cameraPasswordEnv(id: string): string {
  return `GRIDEDGE_CAMERA_PASSWORD_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export function deviceSecretEnv(id: string): string {
  return `GRIDEDGE_DEVICE_SECRET_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export type Env = Record<string, string | undefined>;

/** Validates an already-parsed config object; `source` names it in errors, `baseDir` anchors relative paths. */
export interface ResolveOptions {
  /** Management commands (devices add/list) need the layout, not every secret. */
  requireSecrets?: boolean;
}

/** The key path a problem or warning line is about: what comes before its first `: `. */
const keyOf = (line: string) => line.slice(0, line.indexOf(': '));

/**
 * Every problem of the document at once: the schema's, and those of the checks a schema cannot
 * make (unique ids, grid divisions, files, secrets), which run even when the schema found some,
 * so that fixing one line does not reveal the next. A check's line about a key the schema
 * already complained of is left out.
 */
export function resolveConfig(input: unknown, source: string, baseDir: string, env: Env = process.env, opts: ResolveOptions = {}): Config {
  const raw = structuredClone(input ?? {}) as RawConfig;
  const valid = validate(raw);
  const schemaProblems = valid ? [] : describeErrors(validate.errors);
  const problems: string[] = [];
  const warnings: string[] = [];
  let config: Config | undefined;
  try {
    config = crossCheck(raw, baseDir, env, opts, problems, warnings);
  } catch (err) {
    if (valid) throw err; // on a document the schema refused, a check may trip on what is missing; the schema says why
  }
  const all = [...schemaProblems, ...problems.filter((p) => !schemaProblems.some((s) => keyOf(s) === keyOf(p)))];
  if (all.length || !config) throw new ConfigError(source, all);
  return { ...config, warnings };
}

function crossCheck(raw: RawConfig, baseDir: string, env: Env, opts: ResolveOptions, problems: string[], warnings: string[]): Config {
  const requireSecrets = opts.requireSecrets ?? true;
  const gridProblem = gridCodeProblem(raw.gateway.grid);
  if (gridProblem) problems.push(`gateway.grid: "${raw.gateway.grid}" is not valid (${gridProblem})`);

  if (raw.upstream && env.GRIDEDGE_UPSTREAM_PASSWORD) raw.upstream.password = env.GRIDEDGE_UPSTREAM_PASSWORD;
  const viid = raw.captures.viid;
  if (viid && env.GRIDEDGE_VIID_PASSWORD) viid.password = env.GRIDEDGE_VIID_PASSWORD;
  if (viid && !viid.password && requireSecrets)
    problems.push("captures.viid.password: missing (the 视图库's Digest password for this gateway's DeviceID, or GRIDEDGE_VIID_PASSWORD)");
  if (raw.upstream && env.GRIDEDGE_COMMAND_SECRET) {
    if (env.GRIDEDGE_COMMAND_SECRET.length < 16)
      problems.push('upstream.commandSecret: too short in GRIDEDGE_COMMAND_SECRET (expected 16-256 characters)');
    raw.upstream.commandSecret = env.GRIDEDGE_COMMAND_SECRET;
  }
  if (raw.influx && env.GRIDEDGE_INFLUX_TOKEN) raw.influx.token = env.GRIDEDGE_INFLUX_TOKEN;
  if (raw.influx && env.GRIDEDGE_INFLUX_PASSWORD) raw.influx.password = env.GRIDEDGE_INFLUX_PASSWORD;
  const push = raw.evidence.push;
  if (push.s3 && env.GRIDEDGE_S3_SECRET) push.s3.secretAccessKey = env.GRIDEDGE_S3_SECRET;
  if (push.sink === 'mqtt' && !raw.upstream) problems.push('evidence.push.sink: mqtt needs the upstream section (the broker it pushes to)');
  if (push.sink === 'http' && !push.http) problems.push('evidence.push.sink: http needs evidence.push.http (url, method, token)');
  if (push.sink === 's3' && !push.s3) problems.push('evidence.push.sink: s3 needs evidence.push.s3 (endpoint, bucket, keys)');
  if (push.sink === 's3' && push.s3 && !push.s3.secretAccessKey && requireSecrets)
    problems.push('evidence.push.s3.secretAccessKey: missing (set it, or GRIDEDGE_S3_SECRET)');
  if (raw.cluster && env.GRIDEDGE_CLUSTER_REDIS) raw.cluster.redis = env.GRIDEDGE_CLUSTER_REDIS;
  if (env.GRIDEDGE_LINK_SECRET) {
    if (env.GRIDEDGE_LINK_SECRET.length < 16)
      problems.push('api.linkSecret: too short in GRIDEDGE_LINK_SECRET (expected 16-256 characters)');
    raw.api.linkSecret = env.GRIDEDGE_LINK_SECRET;
  }
  if (raw.upstream) {
    const up = raw.upstream;
    for (const key of ['ca', 'cert', 'key'] as const) {
      const file = up[key];
      if (file === undefined) continue;
      up[key] = path.resolve(baseDir, file);
      if (!existsSync(up[key])) problems.push(`upstream.${key}: file "${up[key]}" does not exist`);
    }
    if (Boolean(up.cert) !== Boolean(up.key)) problems.push('upstream.cert and upstream.key: give both or neither');
    if ((up.ca || up.cert) && !/^(mqtts|ssl):/.test(up.url))
      problems.push(`upstream.url: "${up.url}" is not TLS, but upstream.ca/cert are set (expected mqtts://host:port)`);
  }
  const tls = raw.broker.tls;
  if (tls) {
    for (const key of ['cert', 'key', 'ca', 'crl'] as const) {
      const file = tls[key];
      if (file === undefined) continue;
      tls[key] = path.resolve(baseDir, file);
      if (!existsSync(tls[key])) problems.push(`broker.tls.${key}: file "${tls[key]}" does not exist`);
    }
    if (tls.requireClientCert && !tls.ca)
      problems.push('broker.tls.requireClientCert: give broker.tls.ca, the CA that signs device certificates');
    if (tls.crl && !tls.requireClientCert)
      problems.push('broker.tls.crl: revokes device certificates, so it needs requireClientCert: true');
    if (tls.port !== 0 && tls.port === raw.broker.port) problems.push(`broker.tls.port: ${tls.port} is also broker.port`);
  }
  const apiTls = raw.api.tls;
  if (apiTls) {
    for (const key of ['cert', 'key'] as const) {
      apiTls[key] = path.resolve(baseDir, apiTls[key]);
      if (!existsSync(apiTls[key])) problems.push(`api.tls.${key}: file "${apiTls[key]}" does not exist`);
    }
  }
  const influx = raw.influx;
  if (influx?.version === 1) {
    for (const key of ['token', 'org'] as const)
      if (influx[key] !== undefined)
        problems.push(`influx.${key}: an InfluxDB 2 setting; with version 1 give database (and username, password)`);
  } else if (influx) {
    if (!influx.org) problems.push('influx.org: missing (the InfluxDB 2 organization; for InfluxDB 1.x set version: 1 and database)');
    // Not every server wants one (victoria-metrics, an InfluxDB without authentication): said, not refused.
    if (requireSecrets && !influx.token)
      warnings.push(
        'influx.token: not set, so an InfluxDB 2 will refuse the writes (they spool meanwhile); set it or GRIDEDGE_INFLUX_TOKEN',
      );
    for (const key of ['database', 'retentionPolicy', 'username', 'password'] as const)
      if (influx[key] !== undefined)
        problems.push(`influx.${key}: an InfluxDB 1.x setting; give version: 1, or org and token for InfluxDB 2`);
  }

  const seen = new Map<string, number>();
  const sourced = new Map<string, number>();
  for (const name of ['zigbee2mqtt', 'chirpstack'] as const) {
    const s = raw.sources[name];
    const envPassword = env[`GRIDEDGE_SOURCE_PASSWORD_${name.toUpperCase()}`];
    if (s && envPassword) s.password = envPassword;
  }
  if (raw.sources.onenet && env.GRIDEDGE_SOURCE_TOKEN_ONENET) raw.sources.onenet.token = env.GRIDEDGE_SOURCE_TOKEN_ONENET;
  const onenetPoll = raw.sources.onenet?.poll;
  if (onenetPoll && env.GRIDEDGE_SOURCE_APIKEY_ONENET) onenetPoll.apiKey = env.GRIDEDGE_SOURCE_APIKEY_ONENET;
  if (onenetPoll && !onenetPoll.apiKey && requireSecrets)
    problems.push("sources.onenet.poll.apiKey: missing (the product's master key, or GRIDEDGE_SOURCE_APIKEY_ONENET)");
  // Polling alone needs no push token: the push URL then answers 503.
  if (raw.sources.onenet && !raw.sources.onenet.token && !onenetPoll && requireSecrets)
    problems.push("sources.onenet.token: missing (the token of OneNET's push page, or GRIDEDGE_SOURCE_TOKEN_ONENET)");
  const ct = raw.sources.ctwing;
  if (ct && env.GRIDEDGE_SOURCE_TOKEN_CTWING) ct.token = env.GRIDEDGE_SOURCE_TOKEN_CTWING;
  const ctPoll = ct?.poll;
  if (ctPoll && env.GRIDEDGE_SOURCE_APPSECRET_CTWING) ctPoll.appSecret = env.GRIDEDGE_SOURCE_APPSECRET_CTWING;
  if (ctPoll && env.GRIDEDGE_SOURCE_MASTERKEY_CTWING) ctPoll.masterKey = env.GRIDEDGE_SOURCE_MASTERKEY_CTWING;
  if (ctPoll && !ctPoll.appSecret && requireSecrets)
    problems.push("sources.ctwing.poll.appSecret: missing (the application's App Secret, or GRIDEDGE_SOURCE_APPSECRET_CTWING)");
  // Polling alone needs no push token: the push URL then answers 503.
  if (ct && !ct.token && !ctPoll && requireSecrets)
    problems.push('sources.ctwing.token: missing (the secret of the push URL, ?token=…, or GRIDEDGE_SOURCE_TOKEN_CTWING)');
  if (ct?.token && !/^[A-Za-z0-9_.~-]{16,128}$/.test(ct.token))
    problems.push('sources.ctwing.token: 16 to 128 letters, digits or _.~- (it goes in a URL)');
  if (ct?.allowFrom)
    try {
      ctwingAllowList(ct.allowFrom);
    } catch (err) {
      problems.push(`sources.ctwing.allowFrom: ${(err as Error).message}`);
    }
  const devices: Config['devices'] = [];
  raw.devices.forEach((d, i) => {
    const first = seen.get(d.id);
    if (first !== undefined) problems.push(`devices[${i}].id: "${d.id}" is already used by devices[${first}]`);
    seen.set(d.id, i);
    const envName = deviceSecretEnv(d.id);
    const secret = env[envName] ?? d.secret;
    if (d.via) {
      const gw = raw.devices.findIndex((x) => x.id === d.via);
      if (gw < 0) problems.push(`devices[${i}].via: no device "${d.via}" to carry its messages`);
      else if (raw.devices[gw]!.via || raw.devices[gw]!.source)
        problems.push(`devices[${i}].via: "${d.via}" does not connect itself (it has via or source)`);
      if (d.via === d.id) problems.push(`devices[${i}].via: a device cannot carry itself`);
      if (d.source) problems.push(`devices[${i}].via: give via or source, not both`);
      if (d.secret || d.secretHash) problems.push(`devices[${i}].secret: a device behind another has no secret (it never connects itself)`);
    } else if (d.source) {
      const model = modelsByName.get(d.source.model);
      if (model && model.source !== d.source.type)
        problems.push(`devices[${i}].source.model: ${model.model} comes through ${model.source}, not ${d.source.type}`);
      if (model && model.kind !== d.kind) problems.push(`devices[${i}].kind: ${model.model} is a ${model.kind}, not a ${d.kind}`);
      if (!raw.sources[d.source.type]) problems.push(`devices[${i}].source.type: there is no sources.${d.source.type} section`);
      if (d.source.type === 'modbus') {
        const at = modbusAddress(d.source.id);
        const controllers = raw.sources.modbus?.controllers ?? [];
        if (!at) problems.push(`devices[${i}].source.id: "${d.source.id}" is not <controller>/<channel> (kitchen-panel/3)`);
        else if (raw.sources.modbus && !controllers.some((c) => c.id === at.controller))
          problems.push(`devices[${i}].source.id: no controller "${at.controller}" in sources.modbus.controllers`);
        else if (model?.modbus && (at.channel < 1 || at.channel > model.modbus.channels))
          problems.push(`devices[${i}].source.id: ${model.model} has channels 1..${model.modbus.channels}, not ${at.channel}`);
      }
      if (d.source.type === 'chirpstack' && !/^[0-9a-fA-F]{16}$/.test(d.source.id))
        problems.push(`devices[${i}].source.id: "${d.source.id}" is not a DevEUI (16 hex digits)`);
      if (d.source.type === 'ctwing' && raw.sources.ctwing?.poll && !raw.sources.ctwing.poll.masterKey && /^\d{15}$/.test(d.source.id))
        warnings.push(`devices[${i}].source.id: ${d.source.id} is an IMEI: CTWing is polled by deviceId (give it, or poll.masterKey)`);
      const key = `${d.source.type}:${d.source.id.toLowerCase()}`;
      const other = sourced.get(key);
      if (other !== undefined) problems.push(`devices[${i}].source.id: ${d.source.type} ${d.source.id} is already devices[${other}]`);
      sourced.set(key, i);
      if (d.secret || d.secretHash)
        problems.push(`devices[${i}].secret: a device through a source has no secret (it never connects itself)`);
    } else if (requireSecrets && !secret && !d.secretHash)
      problems.push(`devices[${i}].secret: missing (set it or secretHash in the file, or ${envName})`);
    else if (secret !== undefined && secret.length < 8)
      problems.push(`devices[${i}].secret: too short in ${envName} (expected 8-256 characters)`);
    if (d.grid) {
      const p = gridCodeProblem(d.grid);
      if (p) problems.push(`devices[${i}].grid: "${d.grid}" is not valid (${p})`);
    }
    const kind = deviceKinds.get(d.kind);
    const options = structuredClone(d.options ?? {});
    problems.push(...deviceOptionProblems(d.kind, options, `devices[${i}].options`));
    devices.push({
      ...d,
      ...(secret ? { secret } : {}),
      grid: d.grid ?? raw.gateway.grid,
      options,
      // An aircraft behind its dock is silent whenever it is parked, and a sensor through a source reports
      // on its own schedule (a Zigbee one only on change, NB-IoT every few hours): not watched unless asked.
      heartbeatSeconds: d.heartbeatSeconds ?? (d.via || d.source ? 0 : kind?.heartbeatSeconds),
    });
  });

  const timezone = raw.gateway.timezone ?? systemTimeZone();
  if (!isTimeZone(timezone)) problems.push(`gateway.timezone: "${timezone}" is not an IANA time zone (e.g. Asia/Shanghai)`);
  const visionTimezone = raw.vision.timezone ?? timezone;
  if (raw.vision.timezone !== undefined && !isTimeZone(raw.vision.timezone))
    problems.push(`vision.timezone: "${raw.vision.timezone}" is not an IANA time zone (e.g. Asia/Shanghai)`);
  const cameras: Config['cameras'] = [];
  raw.cameras.forEach((c, i) => {
    const clash = seen.get(c.id) !== undefined ? 'a device' : cameras.some((x) => x.id === c.id) ? 'another camera' : undefined;
    if (clash) problems.push(`cameras[${i}].id: "${c.id}" is already used by ${clash}`);
    if (!c.onvif && !c.rtsp && !c.snapshot && !c.isapi && !c.dahua)
      problems.push(`cameras[${i}]: give onvif (the device service address), rtsp, snapshot, isapi or dahua`);
    if (c.source === 'rtsp' && !c.onvif && !c.rtsp) problems.push(`cameras[${i}].source: "rtsp" needs onvif or rtsp`);
    if (c.source === 'snapshot' && !c.onvif && !c.snapshot) problems.push(`cameras[${i}].source: "snapshot" needs onvif or snapshot`);
    if (c.width % 2 || c.height % 2) problems.push(`cameras[${i}]: width and height must be even (got ${c.width}x${c.height})`);
    if (c.detect) problems.push(...detectProblems(c.detect, { at: `cameras[${i}].detect`, baseDir }));
    if (c.grid) {
      const p = gridCodeProblem(c.grid);
      if (p) problems.push(`cameras[${i}].grid: "${c.grid}" is not valid (${p})`);
    }
    const envName = cameraPasswordEnv(c.id);
    const password = env[envName] ?? c.password;
    if (c.isapiPush) {
      const pushEnv = envName.replace('GRIDEDGE_CAMERA_PASSWORD_', 'GRIDEDGE_CAMERA_PUSH_PASSWORD_');
      if (env[pushEnv]) c.isapiPush.password = env[pushEnv];
      if (!c.isapi) problems.push(`cameras[${i}].isapiPush: needs isapi (the camera's address) too`);
      if (!c.isapiPush.password && requireSecrets)
        problems.push(`cameras[${i}].isapiPush.password: missing (what the camera signs its pushes with, or ${pushEnv})`);
      if (c.isapiPush.gateway && !password && requireSecrets)
        problems.push(`cameras[${i}].password: needed to write the camera's httpHosts entry (isapiPush.gateway)`);
    }
    cameras.push({ ...c, ...(password ? { password } : {}), grid: c.grid ?? raw.gateway.grid });
  });

  const deviceIds = new Set(raw.devices.map((d) => d.id));
  const subscriptions =
    (raw.kinds as Record<string, { subscribe?: Array<{ system: string }> } | undefined>)['capture-camera']?.subscribe ?? [];
  subscriptions.forEach((s, i) => {
    if (!raw.devices.some((d) => d.id === s.system && d.kind === 'capture-camera'))
      problems.push(
        `kinds.capture-camera.subscribe[${i}].system: no capture-camera device "${s.system}" (the lower system signs in as one)`,
      );
  });
  raw.broker.accounts.forEach((a, i) => {
    const envName = `GRIDEDGE_ACCOUNT_PASSWORD_${a.username.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
    const password = env[envName] ?? a.password;
    if (password !== undefined) a.password = password;
    if (requireSecrets && !password && !a.passwordHash)
      problems.push(`broker.accounts[${i}].password: missing (set it or passwordHash in the file, or ${envName})`);
    if (deviceIds.has(a.username)) problems.push(`broker.accounts[${i}].username: "${a.username}" is also a device id`);
  });

  raw.api.tokens.forEach((t, i) => {
    const envName = `GRIDEDGE_API_TOKEN_${t.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
    const token = env[envName] ?? t.token;
    if (!token) {
      if (requireSecrets) problems.push(`api.tokens[${i}].token: missing (set it in the file or in ${envName})`);
    } else if (token.length < 16) problems.push(`api.tokens[${i}].token: too short in ${envName} (expected 16-256 characters)`);
    else t.token = token;
  });

  for (const code of Object.keys(raw.incidents.categories)) {
    if (!CATEGORIES[code]) problems.push(`incidents.categories.${code}: no such category (known: ${Object.keys(CATEGORIES).join(', ')})`);
  }

  const gb28181 = resolveGb28181(
    raw,
    { env, baseDir, timezone, requireSecrets, takenIds: new Set([...devices.map((d) => d.id), ...cameras.map((c) => c.id)]) },
    problems,
    warnings,
  );
  // A device's own cameras (its incidents' snapshots) must be cameras the gateway has: configured
  // ones, or GB/T 28181 channels (20-digit ids, which arrive with their device's catalog).
  const cameraIds = new Set(cameras.map((c) => c.id));
  raw.devices.forEach((d, i) => {
    (d.cameras ?? []).forEach((c, k) => {
      if (!cameraIds.has(c) && !/^\d{20}$/.test(c))
        problems.push(
          `devices[${i}].cameras[${k}]: "${c}" is not a camera of this gateway (cameras: ${[...cameraIds].join(', ') || 'none'})`,
        );
    });
  });
  warnings.push(...configWarnings(raw, devices, cameras));
  return {
    ...raw,
    gb28181,
    gateway: { ...raw.gateway, timezone },
    vision: { ...raw.vision, timezone: visionTimezone },
    devices,
    cameras,
    dataDir: raw.gateway.dataDir ? path.resolve(baseDir, raw.gateway.dataDir) : defaultDataDir(raw.gateway.id),
    baseDir,
    warnings: [],
  };
}

export async function loadConfig(file: string, env: Env = process.env, opts: ResolveOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length)
    throw new ConfigError(
      file,
      doc.errors.map((e) => `YAML: ${maskSecretsInText(e.message)}`),
    );
  return resolveConfig(doc.toJS(), file, path.dirname(path.resolve(file)), env, opts);
}
