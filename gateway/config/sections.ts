/**
 * The config file's sections for the gateway's own services: the device broker, the uplink, the
 * series server, the HA pair, evidence and the API. `schema.ts` assembles them with the devices,
 * cameras and kinds.
 */
import { Type } from '@sinclair/typebox';
import { ID_PATTERN, Id } from '../../contracts/ids.js';
import { StringEnum } from '../../core/schema.js';

export const Port = (fallback: number) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: fallback, description: 'TCP port 0..65535 (0 picks a free one)' });
export const Host = (fallback: string) =>
  Type.String({ minLength: 1, default: fallback, description: 'host name or IP address to listen on' });

export const BrokerSection = Type.Object(
  {
    host: Host('0.0.0.0'),
    port: Port(1883),
    tls: Type.Optional(
      Type.Object(
        {
          port: Port(8883),
          cert: Type.String({ minLength: 1, description: 'PEM certificate (chain) of this gateway, relative to the config file' }),
          key: Type.String({ minLength: 1, description: 'its PEM private key, relative to the config file' }),
          ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA that signs device certificates (with requireClientCert)' })),
          requireClientCert: Type.Boolean({
            default: false,
            description: 'true: devices must also present a certificate signed by ca, their own (CN or a SAN = the device id)',
          }),
          crl: Type.Optional(
            Type.String({ minLength: 1, description: 'PEM certificate revocation list of that CA; re-read when the file changes' }),
          ),
        },
        {
          additionalProperties: false,
          description: 'an MQTTS listener for devices beside the plain one (same host, same accounts and ACLs)',
        },
      ),
    ),
    maxPacketBytes: Type.Integer({
      minimum: 1024,
      maximum: 256 * 1024 * 1024,
      default: 4 * 1024 * 1024,
      description: 'largest MQTT packet accepted, bytes (capture images need a few MiB)',
    }),
    maxConnections: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20_000, description: 'devices connected at once' }),
    connectTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 120_000,
      default: 10_000,
      description: 'time a new connection has to send CONNECT, ms',
    }),
    maxPublishPerSecond: Type.Number({
      exclusiveMinimum: 0,
      maximum: 100_000,
      default: 50,
      description: 'publishes per second per device, on average',
    }),
    publishBurst: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 200,
      description: 'publishes a device may send at once above the average',
    }),
    maxInflight: Type.Integer({
      minimum: 1,
      maximum: 65_535,
      default: 100,
      description: 'inbound QoS 2 messages a device may hold unreleased',
    }),
    maxQueued: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 100,
      description: 'packets queued for a client before its session is set up',
    }),
    maxKeepaliveSeconds: Type.Integer({
      minimum: 0,
      maximum: 65_535,
      default: 0,
      description: 'longest keep-alive a device may ask for, seconds (0: any)',
    }),
    statsIntervalSeconds: Type.Integer({
      minimum: 0,
      maximum: 3600,
      default: 10,
      description: 'seconds between $SYS/gridedge/… statistics (0: none)',
    }),
    accounts: Type.Array(
      Type.Object(
        {
          username: Type.String({ pattern: ID_PATTERN, description: 'account name' }),
          password: Type.Optional(
            Type.String({
              minLength: 8,
              maxLength: 256,
              description: 'password, 8-256 characters (or GRIDEDGE_ACCOUNT_PASSWORD_<NAME>)',
            }),
          ),
          passwordHash: Type.Optional(
            Type.String({
              pattern: '^scrypt\\$',
              description: 'scrypt hash of the password (gridedge devices hash-secret), instead of password',
            }),
          ),
          acl: Type.Array(
            Type.Object(
              {
                action: StringEnum(['allow', 'deny'] as const),
                access: StringEnum(['publish', 'subscribe', 'both'] as const),
                topic: Type.String({
                  minLength: 1,
                  maxLength: 256,
                  description: 'MQTT topic pattern with + and #; %u is the user name, %c the client id',
                }),
              },
              { additionalProperties: false },
            ),
            { description: 'ordered rules: the first that matches decides; none matching is deny' },
          ),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'service accounts for site integrations' },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const UpstreamSection = Type.Optional(
  Type.Object(
    {
      url: Type.String({
        pattern: '^(mqtt|mqtts|tcp|ssl)://[^\\s/]+$',
        description: 'broker URL such as mqtt://host:1883 or mqtts://host:8883',
      }),
      username: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'user name, 1-256 characters' })),
      password: Type.Optional(
        Type.String({ minLength: 1, maxLength: 256, description: 'password, 1-256 characters (or GRIDEDGE_UPSTREAM_PASSWORD)' }),
      ),
      clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'MQTT client id; default gridedge-<gateway id>' })),
      protocolVersion: Type.Unsafe<4 | 5>({ type: 'integer', enum: [4, 5], default: 4, description: '4 (MQTT 3.1.1) or 5 (MQTT 5)' }),
      ca: Type.Optional(
        Type.String({
          minLength: 1,
          description: 'PEM file of the CA that signed the broker certificate (mqtts), relative to the config file',
        }),
      ),
      cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate file, for brokers that want one' })),
      key: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file of the client certificate' })),
      rejectUnauthorized: Type.Boolean({
        default: true,
        description: 'true or false: refuse a broker certificate the CA did not sign',
      }),
      commandSecret: Type.Optional(
        Type.String({
          minLength: 16,
          maxLength: 256,
          description: 'shared secret the platform signs commands with, 16-256 characters (or GRIDEDGE_COMMAND_SECRET)',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);

export const InfluxSection = Type.Optional(
  Type.Object(
    {
      url: Type.String({ pattern: '^https?://[^\\s]+$', description: 'InfluxDB URL such as http://host:8086' }),
      version: Type.Unsafe<1 | 2>({
        type: 'integer',
        enum: [1, 2],
        default: 2,
        description: '2: the /api/v2/write API (InfluxDB 2 and 3, 1.8+, victoria-metrics); 1: InfluxDB 1.x /write',
      }),
      token: Type.Optional(Type.String({ minLength: 1, description: 'v2: API token (or GRIDEDGE_INFLUX_TOKEN)' })),
      org: Type.Optional(Type.String({ minLength: 1, description: 'v2: organization name' })),
      bucket: Type.String({ minLength: 1, default: 'gridedge', description: 'v2: bucket name' }),
      database: Type.Optional(Type.String({ minLength: 1, description: 'v1: database name (default gridedge)' })),
      retentionPolicy: Type.Optional(Type.String({ minLength: 1, description: "v1: retention policy (default: the database's)" })),
      username: Type.Optional(Type.String({ minLength: 1, description: 'v1: user name, when the server has authentication on' })),
      password: Type.Optional(Type.String({ minLength: 1, description: 'v1: its password (or GRIDEDGE_INFLUX_PASSWORD)' })),
      batchSize: Type.Integer({ minimum: 1, maximum: 100_000, default: 5000, description: 'points per write, 1..100000' }),
      flushIntervalMs: Type.Integer({
        minimum: 10,
        maximum: 60_000,
        default: 1000,
        description: 'longest a point waits before a write, 10..60000 ms',
      }),
      maxRetries: Type.Integer({
        minimum: 0,
        maximum: 10,
        default: 3,
        description: 'retries (1 s, 2 s, 4 s, ...) before a batch goes to the spool, 0..10',
      }),
      replayIntervalMs: Type.Integer({
        minimum: 100,
        maximum: 3_600_000,
        default: 10_000,
        description: 'how often spooled readings are retried, 100..3600000 ms',
      }),
    },
    { additionalProperties: false },
  ),
);

export const ClusterSection = Type.Optional(
  Type.Object(
    {
      redis: Type.String({
        pattern: '^rediss?://[^\\s]+$',
        description:
          'redis://[:password@]host:port[/db] the two nodes share: one database per pair, run with appendonly yes and appendfsync ' +
          'always (or GRIDEDGE_CLUSTER_REDIS)',
      }),
      node: Id("this node's name in the pair"),
      leaseSeconds: Type.Number({
        minimum: 1,
        maximum: 60,
        default: 3,
        description: 'seconds the leader holds its lease without renewing; the other node takes over within this, 1..60',
      }),
      heartbeatSeconds: Type.Integer({
        minimum: 1,
        maximum: 300,
        default: 10,
        description:
          "how often each node's broker announces itself; after three silent ones the other publishes the dead node's device Wills, 1..300",
      }),
    },
    {
      additionalProperties: false,
      description: 'an HA pair of gateway nodes sharing broker state, incidents and rule state through Redis',
    },
  ),
);

/** How evidence reaches the centre when the centre cannot reach the gateway (NAT): pushed through a sink. */
const EvidencePush = Type.Object(
  {
    sink: StringEnum(['auto', 'mqtt', 'http', 's3', 'none'] as const, {
      default: 'auto',
      description:
        'auto: mqtt when upstream is set, else none; mqtt: chunks over the upstream broker; http: PUT/POST to a server; ' +
        's3: S3-compatible object storage; none: only the signed link',
    }),
    keyPrefix: Type.String({
      pattern: '^[A-Za-z0-9._/-]{0,100}$',
      default: 'gridedge/',
      description: 'object keys are <keyPrefix><gateway id>/<sha256>.<ext>',
    }),
    chunkBytes: Type.Integer({
      minimum: 1024,
      maximum: 4 * 1024 * 1024,
      default: 65_536,
      description: 'mqtt: bytes of image per message (keep under the upstream broker message limit)',
    }),
    http: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://[^\\s]+$', description: 'base URL; the object goes to <url>/<key>' }),
          method: StringEnum<'PUT' | 'POST'>(['PUT', 'POST'], { default: 'PUT', description: 'PUT (the default) or POST' }),
          token: Type.Optional(Type.String({ minLength: 8, maxLength: 512, description: 'sent as Authorization: Bearer <token>' })),
          publicUrl: Type.Optional(
            Type.String({ pattern: '^https?://[^\\s]+$', description: 'where the platform reads objects, if not url' }),
          ),
          timeoutSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 600, default: 30 }),
        },
        { additionalProperties: false },
      ),
    ),
    s3: Type.Optional(
      Type.Object(
        {
          endpoint: Type.Optional(
            Type.String({ pattern: '^https?://[^\\s]+$', description: "the object store's URL (MinIO, a government cloud's OSS)" }),
          ),
          region: Type.String({ minLength: 1, default: 'us-east-1' }),
          bucket: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', description: 'bucket name (S3 rules)' }),
          accessKeyId: Type.String({ minLength: 1, maxLength: 256 }),
          secretAccessKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'the key (or GRIDEDGE_S3_SECRET)' })),
          forcePathStyle: Type.Boolean({ default: true, description: 'true for most S3-compatible stores (bucket in the path)' }),
          publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'base URL the platform reads objects at' })),
        },
        { additionalProperties: false },
      ),
    ),
    maxPendingMB: Type.Number({
      exclusiveMinimum: 0,
      default: 1024,
      description: 'evidence waiting to be pushed at most, MiB; the oldest goes first',
    }),
    maxPendingHours: Type.Number({
      exclusiveMinimum: 0,
      default: 168,
      description: 'evidence not pushed within this many hours is dropped',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const EvidenceSection = Type.Object(
  {
    retentionHours: Type.Object(
      {
        face: Type.Number({ minimum: 0, default: 72, description: 'hours face crops are kept (personal data: shortest)' }),
        plate: Type.Number({ minimum: 0, default: 168, description: 'hours plate crops are kept' }),
        person: Type.Number({ minimum: 0, default: 72, description: 'hours person crops are kept' }),
        vehicle: Type.Number({ minimum: 0, default: 168, description: 'hours vehicle crops are kept' }),
        scene: Type.Number({ minimum: 0, default: 720, description: 'hours scene images (fire, smoke) are kept' }),
        snapshot: Type.Number({ minimum: 0, default: 720, description: 'hours camera snapshots are kept' }),
      },
      { additionalProperties: false, default: {} },
    ),
    sweepIntervalMinutes: Type.Number({
      exclusiveMinimum: 0,
      default: 60,
      description: 'how often expired evidence is deleted, minutes > 0',
    }),
    linkTtlHours: Type.Number({ exclusiveMinimum: 0, default: 72, description: 'how long a signed evidence link works, hours > 0' }),
    inline: Type.Boolean({
      default: false,
      description: 'true: send images up to inlineMaxBytes inside the incident (base64), besides the link',
    }),
    inlineMaxBytes: Type.Integer({ minimum: 1, maximum: 1_048_576, default: 32_768, description: 'largest image sent inline, bytes' }),
    thumbnails: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'true: every image in an incident carries a small JPEG thumbnail inline' }),
        maxWidth: Type.Integer({ minimum: 32, maximum: 1920, default: 320, description: 'thumbnail width at most, pixels' }),
        maxHeight: Type.Integer({ minimum: 32, maximum: 1080, default: 240, description: 'thumbnail height at most, pixels' }),
        quality: Type.Integer({
          minimum: 20,
          maximum: 95,
          default: 70,
          description: 'JPEG quality 20-95 (lowered until it fits maxBytes)',
        }),
        maxBytes: Type.Integer({ minimum: 2048, maximum: 262_144, default: 24_576, description: 'largest thumbnail, bytes' }),
      },
      { additionalProperties: false, default: {} },
    ),
    privacy: Type.Object(
      {
        allow: Type.Array(StringEnum(['face', 'plate'] as const), {
          uniqueItems: true,
          default: [],
          description:
            'personal data that may leave the gateway unmasked (PIPL / GB/T 35273): [] blurs faces and plates in every image pushed, ' +
            'inlined or sent as a thumbnail; list face or plate only where the site has the legal basis',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    push: EvidencePush,
    accessLog: Type.Object(
      {
        maxDays: Type.Integer({ minimum: 1, maximum: 3650, default: 180, description: 'days each evidence read stays in the access log' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const ApiSection = Type.Object(
  {
    host: Host('127.0.0.1'),
    port: Port(8080),
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.String({ minLength: 1, description: 'PEM certificate (chain) of this gateway, relative to the config file' }),
          key: Type.String({ minLength: 1, description: 'its PEM private key, relative to the config file' }),
        },
        { additionalProperties: false, description: 'serve the API and the console over HTTPS (the same files as broker.tls may do)' },
      ),
    ),
    publicUrl: Type.Optional(
      Type.String({
        pattern: '^https?://[^\\s]+$',
        description: 'the URL the platform reaches this API at, for evidence links; default http://<api.host>:<api.port>',
      }),
    ),
    linkSecret: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 256,
        description:
          'secret that signs evidence links, 16-256 characters (or GRIDEDGE_LINK_SECRET; default: generated once and kept in dataDir)',
      }),
    ),
    tokens: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'who holds it, for logs' }),
          token: Type.Optional(
            Type.String({
              minLength: 16,
              maxLength: 256,
              description: 'bearer token, 16-256 characters (or GRIDEDGE_API_TOKEN_<NAME>)',
            }),
          ),
          role: StringEnum(['read', 'operator'] as const, { description: 'read: look only; operator: also change things' }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'bearer tokens for the API' },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** Face and plate captures to the centre (gridedge.capture/v1), one per track. */
export const CapturesSection = Type.Object(
  {
    upstream: Type.Boolean({
      default: true,
      description: 'true: captures go to the upstream broker on …/capture (needs upstream); false: they stay on the gateway',
    }),
    scene: Type.Boolean({ default: true, description: 'true: the whole frame goes with each detector capture besides the crop' }),
    maxPerMinute: Type.Integer({
      minimum: 1,
      maximum: 6000,
      default: 120,
      description: 'captures sent per camera per minute at most; more are counted and kept on the gateway only',
    }),
    dedupeSeconds: Type.Number({
      minimum: 0,
      maximum: 3600,
      default: 10,
      description: "a camera's own capture of the same plate again within this many seconds is the same track (faces are each their own)",
    }),
    reconcileSeconds: Type.Number({
      minimum: 0,
      maximum: 30,
      default: 3,
      description:
        "a camera whose plates come from its own analytics and from the gateway's plate detector: " +
        'the two reads of one vehicle within this many seconds are one capture, the better shot (0: both go)',
    }),
    maxPendingMB: Type.Number({ exclusiveMinimum: 0, default: 64, description: 'capture messages waiting for the upstream, MiB at most' }),
    maxPendingHours: Type.Number({ exclusiveMinimum: 0, default: 168, description: 'capture messages older than this are dropped' }),
    viid: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://[^\\s]+$', description: "the city's 视图库 (GA/T 1400 server), http(s)://host[:port]" }),
          deviceId: Type.String({
            pattern: '^\\d{20}$',
            description: 'the DeviceID the 视图库 gave this gateway (20 digits), its Digest user name',
          }),
          password: Type.Optional(
            Type.String({ minLength: 1, maxLength: 256, description: 'its Digest password (or GRIDEDGE_VIID_PASSWORD)' }),
          ),
          keepaliveSeconds: Type.Integer({
            minimum: 5,
            maximum: 3600,
            default: 30,
            description: 'how often the gateway keeps its registration alive',
          }),
          timeoutMs: Type.Integer({ minimum: 500, maximum: 120_000, default: 15_000 }),
          subjects: Type.Array(StringEnum(['face', 'plate', 'person'] as const), {
            default: ['face', 'plate'],
            uniqueItems: true,
            description: 'which captures go up: faces as Faces, plates as MotorVehicles, persons as Persons',
          }),
          maxPendingMB: Type.Number({
            exclusiveMinimum: 0,
            default: 512,
            description: 'captures waiting for the 视图库, MiB at most (images included)',
          }),
          maxPendingHours: Type.Number({ exclusiveMinimum: 0, default: 72, description: 'captures older than this are dropped' }),
        },
        {
          additionalProperties: false,
          description: "the gateway as a GA/T 1400 client of the city's 视图库: its captures delivered as Faces and MotorVehicles",
        },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);
