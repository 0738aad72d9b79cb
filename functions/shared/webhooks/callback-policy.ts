/**
 * Where webhooks may go: the SSRF guard of docs/webhooks.md.
 *
 * - `public` (AWS): `https` only, to hosts whose every address is public unicast.
 * - `local` (`reelhook dev`): the same, plus `http` and loopback, so a receiver on the
 *   developer's own machine works.
 *
 * Two checks share these rules. At submission, the URL alone (scheme, credentials,
 * literal addresses in any of the forms the WHATWG URL parser normalizes, `localhost`),
 * without DNS. At delivery, every address the host resolves to, inside the connection's
 * own lookup ({@link guardedLookup}): the socket connects to an address that was checked,
 * so there is no gap for DNS rebinding between the check and the connect.
 */
import { promises as dns, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Env } from '#shared/facts.js';

const CALLBACK_POLICIES = ['local', 'public'] as const;
export type CallbackPolicy = (typeof CALLBACK_POLICIES)[number];

/**
 * REELHOOK_CALLBACK_POLICY. Unset, it is `public` inside Lambda (the safe side if a
 * deployment forgets it) and `local` elsewhere.
 */
export function callbackPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): CallbackPolicy {
  const raw = env[Env.CallbackPolicy];
  if (raw === undefined || raw === '') return env.AWS_LAMBDA_FUNCTION_NAME ? 'public' : 'local';
  if (!(CALLBACK_POLICIES as readonly string[]).includes(raw)) {
    throw new Error(`REELHOOK_CALLBACK_POLICY must be one of ${CALLBACK_POLICIES.join(', ')}`);
  }
  return raw as CallbackPolicy;
}

const LOOPBACK = 'loopback';

type Family = 'ipv4' | 'ipv6';
interface AddressRange {
  label: string;
  list: BlockList;
}

function ranges(family: Family, table: ReadonlyArray<readonly [cidr: string, label: string]>): AddressRange[] {
  return table.map(([cidr, label]) => {
    const [network = '', prefix = ''] = cidr.split('/');
    const list = new BlockList();
    list.addSubnet(network, Number(prefix), family);
    return { label, list };
  });
}

/** IANA's special-purpose IPv4 ranges that are not globally reachable, most specific first. */
const IPV4_SPECIAL = ranges('ipv4', [
  ['169.254.169.254/32', 'cloud metadata'],
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared (carrier-grade NAT)'],
  ['127.0.0.0/8', LOOPBACK],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignment'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
]);

/** The same for IPv6; everything outside global unicast (2000::/3) is refused as well. */
const IPV6_SPECIAL = ranges('ipv6', [
  ['fd00:ec2::254/128', 'cloud metadata'],
  ['::/128', 'unspecified'],
  ['::1/128', LOOPBACK],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:db8::/32', 'documentation'],
  ['2001::/23', 'IETF protocol assignment, Teredo'],
  ['2002::/16', '6to4'],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'segment routing'],
  ['fc00::/7', 'unique local (private)'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
]);
const [GLOBAL_UNICAST_V6] = ranges('ipv6', [['2000::/3', 'global unicast']]);

/** The 8 groups of an IPv6 address (zone id dropped). */
function ipv6Groups(address: string): number[] {
  // The URL parser writes any valid form (embedded dotted quad included) as compressed hex.
  const canonical = new URL(`http://[${address.replace(/%.*$/, '')}]`).hostname.slice(1, -1);
  const [head = '', tail] = canonical.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** IPv6 forms that carry an IPv4 address in their last 32 bits: mapped, compatible, NAT64. */
function embeddedIpv4(groups: readonly number[]): { form: string; address: string } | null {
  const [a, b, c, d, e, f, high = 0, low = 0] = groups;
  const zeros = a === 0 && b === 0 && c === 0 && d === 0 && e === 0;
  let form: string | null = null;
  if (zeros && f === 0xffff) form = 'IPv4-mapped';
  // ::/128 and ::1 are themselves special; the rest of ::/96 is the deprecated compatible form.
  else if (zeros && f === 0 && high !== 0) form = 'IPv4-compatible';
  else if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) form = 'NAT64';
  if (!form) return null;
  return { form, address: [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.') };
}

/** The special range an address falls in (`loopback`, `private`, …), or null when it is public unicast. */
function specialRangeOf(address: string): string | null {
  const family = isIP(address);
  if (family === 4) return IPV4_SPECIAL.find((range) => range.list.check(address, 'ipv4'))?.label ?? null;
  if (family !== 6) return 'not an IP address';
  const bare = address.replace(/%.*$/, '');
  const embedded = embeddedIpv4(ipv6Groups(bare));
  if (embedded) {
    const label = specialRangeOf(embedded.address);
    return label && `${embedded.form} ${label}`;
  }
  const special = IPV6_SPECIAL.find((range) => range.list.check(bare, 'ipv6'))?.label;
  if (special) return special;
  return GLOBAL_UNICAST_V6?.list.check(bare, 'ipv6') ? null : 'reserved';
}

/**
 * Why `address` may not receive webhooks under `policy` (`"10.0.0.1 (private)"`), or
 * null when it may.
 *
 * @example
 * addressRefusal('::ffff:a9fe:a9fe', 'public'); // '::ffff:a9fe:a9fe (IPv4-mapped cloud metadata)'
 * addressRefusal('127.0.0.1', 'local'); // null
 */
export function addressRefusal(address: string, policy: CallbackPolicy): string | null {
  const label = specialRangeOf(address);
  if (label === null) return null;
  if (policy === 'local' && (label === LOOPBACK || label === `IPv4-mapped ${LOOPBACK}`)) return null;
  return `${address} (${label})`;
}

const isLocalhostName = (host: string): boolean => /(^|\.)localhost\.?$/i.test(host);

/** The host of a parsed URL as a socket wants it: IPv6 without brackets. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * What is wrong with `value` as a callback URL under `policy`, judged from the URL alone
 * (no DNS), or null. The message completes "callback_url …".
 *
 * @example
 * callbackUrlProblem('https://2130706433/hook', 'public'); // 'must not point at a non-public address: 127.0.0.1 (loopback)'
 */
export function callbackUrlProblem(value: string, policy: CallbackPolicy): string | null {
  const url = URL.canParse(value) ? new URL(value) : null;
  const schemes = policy === 'public' ? ['https:'] : ['http:', 'https:'];
  if (!url || !schemes.includes(url.protocol) || url.hostname === '') {
    return `must be an absolute ${policy === 'public' ? 'https' : 'http or https'} URL`;
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials (user:password@)';
  const host = hostOf(url);
  if (isIP(host)) {
    const refusal = addressRefusal(host, policy);
    return refusal && `must not point at a non-public address: ${refusal}`;
  }
  if (policy === 'public' && isLocalhostName(host)) return 'must not point at localhost';
  return null;
}

/** A delivery refused by the policy: retrying will not help. */
export class CallbackRefused extends Error {
  override readonly name = 'CallbackRefused';
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

/** Every address of a name, in the resolver's order (what `getaddrinfo` returns). */
const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/**
 * A `lookup` for node:net that resolves the name once, refuses the connection if ANY
 * address is forbidden (a name with one private address is not a public receiver), and
 * hands the socket only the addresses it checked.
 *
 * @example
 * http.request(url, { lookup: guardedLookup('public') });
 */
export function guardedLookup(policy: CallbackPolicy, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        for (const { address } of addresses) {
          const refusal = addressRefusal(address, policy);
          if (refusal) return callback(new CallbackRefused(`${hostname} resolves to ${refusal}`), '', 0);
        }
        const wanted = familyNumber(options.family);
        const usable = addresses.filter((entry) => wanted === 0 || entry.family === wanted);
        const first = usable[0];
        if (!first) {
          const error: NodeJS.ErrnoException = new Error(`${hostname} has no usable address`);
          error.code = 'ENOTFOUND';
          return callback(error, '', 0);
        }
        return options.all ? callback(null, usable) : callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

function familyNumber(family: number | string | undefined): number {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}
