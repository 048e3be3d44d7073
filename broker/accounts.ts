/**
 * Service accounts (a local screen, the station's Node-RED, the property company's system) with
 * ordered allow/deny rules in the mosquitto style: the first rule whose topic pattern matches
 * decides, and nothing matching means deny. `%u` stands for the user name and `%c` for the client
 * id. Publishing checks the topic; subscribing checks that the pattern covers the whole filter
 * asked for (a rule for `dev/+/telemetry` does not grant `dev/#`); retained messages delivered on
 * subscribe are checked topic by topic like any other delivery.
 */
export type Access = 'publish' | 'subscribe' | 'both';

export interface AclRule {
  action: 'allow' | 'deny';
  access: Access;
  topic: string;
}

export interface ServiceAccount {
  username: string;
  password?: string;
  passwordHash?: string;
  acl: AclRule[];
}

/** Whether a concrete topic matches a filter with + and #. `$`-topics match only filters that start with `$` too (MQTT-4.7.2-1). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') !== filter.startsWith('$')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether every topic `filter` can match is also matched by `pattern`. */
export function filterCovers(pattern: string, filter: string): boolean {
  if (filter.startsWith('$') !== pattern.startsWith('$')) return false;
  const p = pattern.split('/');
  const f = filter.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= f.length) return false;
    if (f[i] === '#') return false; // the filter reaches deeper than this pattern allows
    if (p[i] === '+') continue;
    if (f[i] === '+' || p[i] !== f[i]) return false;
  }
  return p.length === f.length;
}

function expand(pattern: string, username: string, clientId: string): string {
  // Ids cannot contain / + # (config pattern), so substitution cannot widen a rule.
  return pattern.replaceAll('%u', username).replaceAll('%c', clientId);
}

/** The first rule for this access whose pattern matches decides; none means deny. */
export function allowed(
  acl: AclRule[],
  access: 'publish' | 'subscribe',
  topicOrFilter: string,
  username: string,
  clientId: string,
  covers = false,
): boolean {
  for (const rule of acl) {
    if (rule.access !== 'both' && rule.access !== access) continue;
    const pattern = expand(rule.topic, username, clientId);
    const hit = covers ? filterCovers(pattern, topicOrFilter) : topicMatches(pattern, topicOrFilter);
    if (hit) return rule.action === 'allow';
  }
  return false;
}
