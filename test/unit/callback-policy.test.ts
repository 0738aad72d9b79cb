/**
 * The SSRF guard, decided without connecting anywhere: URLs are judged by the decision
 * functions, names are resolved by an injected resolver, and no socket is opened.
 */
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  CallbackRefused,
  addressRefusal,
  callbackPolicyFromEnv,
  callbackUrlProblem,
  guardedLookup,
  type CallbackPolicy,
  type Resolver,
} from '#shared/webhooks/callback-policy.js';
import { ValidationError } from '#shared/errors.js';
import { parseGenerationRequest } from '#shared/generations/request.js';

/** Hostile callback URLs refused from the URL alone, with the range each one hits. */
const HOSTILE_URLS: ReadonlyArray<readonly [url: string, reason: string]> = [
  ['http://hooks.example.com/x', 'https'],
  ['https://user:secret@hooks.example.com/x', 'credentials'],
  ['https://127.0.0.1/x', 'loopback'],
  ['https://127.1/x', 'loopback'],
  ['https://2130706433/x', 'loopback'],
  ['https://0177.0.0.1/x', 'loopback'],
  ['https://017700000001/x', 'loopback'],
  ['https://0x7f000001/x', 'loopback'],
  ['https://0x7f.1/x', 'loopback'],
  ['https://127.0.0.1./x', 'loopback'],
  ['https://localhost/x', 'localhost'],
  ['https://LOCALHOST./x', 'localhost'],
  ['https://hooks.localhost/x', 'localhost'],
  ['https://[::1]/x', 'loopback'],
  ['https://[0:0:0:0:0:0:0:1]/x', 'loopback'],
  ['https://0.0.0.0/x', 'unspecified'],
  ['https://0/x', 'unspecified'],
  ['https://[::]/x', 'unspecified'],
  ['https://10.0.0.1/x', 'private'],
  ['https://172.16.5.4/x', 'private'],
  ['https://192.168.1.1/x', 'private'],
  ['https://100.64.0.1/x', 'carrier-grade NAT'],
  ['https://100.100.100.200/x', 'carrier-grade NAT'],
  ['https://169.254.169.254/latest/meta-data/', 'cloud metadata'],
  ['https://[fd00:ec2::254]/latest/meta-data/', 'cloud metadata'],
  ['https://169.254.170.2/v2/credentials', 'link-local'],
  ['https://[fe80::1]/x', 'link-local'],
  ['https://[fc00::1]/x', 'unique local'],
  ['https://[fd12:3456::1]/x', 'unique local'],
  ['https://[fec0::1]/x', 'site-local'],
  ['https://224.0.0.1/x', 'multicast'],
  ['https://239.255.255.250/x', 'multicast'],
  ['https://[ff02::1]/x', 'multicast'],
  ['https://240.0.0.1/x', 'reserved'],
  ['https://255.255.255.255/x', 'reserved'],
  ['https://198.18.0.1/x', 'benchmarking'],
  ['https://[2001:2::1]/x', 'benchmarking'],
  ['https://192.0.2.10/x', 'documentation'],
  ['https://198.51.100.7/x', 'documentation'],
  ['https://203.0.113.9/x', 'documentation'],
  ['https://[2001:db8::1]/x', 'documentation'],
  ['https://[3fff::1]/x', 'documentation'],
  ['https://192.0.0.192/x', 'IETF protocol assignment'],
  ['https://[2001::1]/x', 'Teredo'],
  ['https://[2002:7f00:1::]/x', '6to4'],
  ['https://[100::1]/x', 'discard-only'],
  ['https://[::ffff:127.0.0.1]/x', 'IPv4-mapped loopback'],
  ['https://[::ffff:7f00:1]/x', 'IPv4-mapped loopback'],
  ['https://[::ffff:169.254.169.254]/x', 'IPv4-mapped cloud metadata'],
  ['https://[::ffff:10.1.2.3]/x', 'IPv4-mapped private'],
  ['https://[::127.0.0.1]/x', 'IPv4-compatible loopback'],
  ['https://[64:ff9b::10.0.0.1]/x', 'NAT64 private'],
  ['https://[64:ff9b::169.254.169.254]/x', 'NAT64 cloud metadata'],
  ['https://[64:ff9b:1::1]/x', 'local-use NAT64'],
  ['https://[::ffff:0:a00:1]/x', 'reserved'],
  ['https://１２７.０.０.１/x', 'loopback'],
];

/** Names that look harmless and resolve to hostile addresses (DNS rebinding, split answers). */
const HOSTILE_RESOLUTIONS: ReadonlyArray<readonly [host: string, addresses: string[], reason: string]> = [
  ['rebind.example.com', ['127.0.0.1'], 'loopback'],
  ['metadata.example.com', ['169.254.169.254'], 'cloud metadata'],
  ['split.example.com', ['93.184.216.34', '10.0.0.7'], 'private'],
  ['v6.example.com', ['2606:4700::1111', 'fd00:ec2::254'], 'cloud metadata'],
  ['mapped.example.com', ['::ffff:192.168.0.1'], 'IPv4-mapped private'],
  ['nat64.example.com', ['64:ff9b::a9fe:a9fe'], 'NAT64 cloud metadata'],
  ['cgnat.example.com', ['100.64.12.34'], 'carrier-grade NAT'],
  ['zero.example.com', ['0.0.0.0'], 'unspecified'],
];

const fixedResolver =
  (addresses: string[]): Resolver =>
  async () =>
    addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));

type LookupResult = { error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };

function lookupWith(policy: CallbackPolicy, resolver: Resolver, host: string, all: boolean): Promise<LookupResult> {
  return new Promise((resolve) => {
    guardedLookup(policy, resolver)(host, { all }, (error, address, family) => resolve({ error, address, family }));
  });
}

describe('callbackUrlProblem under the public policy', () => {
  it('refuses at least 30 hostile targets', () => {
    expect(HOSTILE_URLS.length + HOSTILE_RESOLUTIONS.length).toBeGreaterThanOrEqual(30);
  });

  it.each(HOSTILE_URLS)('refuses %s (%s)', (url, reason) => {
    const problem = callbackUrlProblem(url, 'public');
    expect(problem).not.toBeNull();
    expect(problem).toContain(reason);
  });

  it.each(['https://hooks.example.com/reelhook?tenant=7', 'https://93.184.216.34/x', 'https://[2606:4700::1111]/x', 'https://[64:ff9b::808:808]/x'])(
    'accepts the public target %s',
    (url) => {
      expect(callbackUrlProblem(url, 'public')).toBeNull();
    },
  );

  it('names the normalized address, so the caller sees what an obfuscated host meant', () => {
    expect(callbackUrlProblem('https://0x7f000001/x', 'public')).toBe('must not point at a non-public address: 127.0.0.1 (loopback)');
  });
});

describe('callbackUrlProblem under the local policy', () => {
  it.each(['http://127.0.0.1:9000/hook', 'http://localhost:9000/hook', 'http://[::1]:9000/hook', 'https://hooks.example.com/x'])(
    'accepts %s',
    (url) => {
      expect(callbackUrlProblem(url, 'local')).toBeNull();
    },
  );

  it.each(['https://169.254.169.254/x', 'http://10.0.0.1/x', 'http://[fd00:ec2::254]/x', 'ftp://127.0.0.1/x'])(
    'still refuses %s',
    (url) => {
      expect(callbackUrlProblem(url, 'local')).not.toBeNull();
    },
  );
});

describe('guardedLookup (delivery time)', () => {
  it.each(HOSTILE_RESOLUTIONS)('refuses %s resolving to %j (%s)', async (host, addresses, reason) => {
    for (const all of [false, true]) {
      const { error } = await lookupWith('public', fixedResolver(addresses), host, all);
      expect(error).toBeInstanceOf(CallbackRefused);
      expect(error?.message).toContain(`${host} resolves to`);
      expect(error?.message).toContain(reason);
    }
  });

  it('hands the socket exactly the addresses it checked, resolving once', async () => {
    let resolutions = 0;
    // A rebinding resolver: public on the first answer, loopback afterwards.
    const rebinding: Resolver = async () => {
      resolutions += 1;
      return [{ address: resolutions === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    };
    const single = await lookupWith('public', rebinding, 'hooks.example.com', false);
    expect(single).toEqual({ error: null, address: '93.184.216.34', family: 4 });
    expect(resolutions).toBe(1);
    const second = await lookupWith('public', rebinding, 'hooks.example.com', true);
    expect(second.error).toBeInstanceOf(CallbackRefused);
  });

  it('returns every checked address when the socket asks for all of them', async () => {
    const { error, address } = await lookupWith('public', fixedResolver(['93.184.216.34', '2606:4700::1111']), 'hooks.example.com', true);
    expect(error).toBeNull();
    expect(address).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700::1111', family: 6 },
    ]);
  });

  it('allows a name resolving to loopback under the local policy only', async () => {
    const resolver = fixedResolver(['127.0.0.1']);
    expect((await lookupWith('local', resolver, 'receiver.test', false)).address).toBe('127.0.0.1');
    expect((await lookupWith('public', resolver, 'receiver.test', false)).error).toBeInstanceOf(CallbackRefused);
  });

  it('passes resolver failures through as ordinary (retryable) errors', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    };
    const { error } = await lookupWith('public', failing, 'nowhere.example', false);
    expect(error?.code).toBe('ENOTFOUND');
    expect(error).not.toBeInstanceOf(CallbackRefused);
  });
});

describe('addressRefusal', () => {
  it('treats IPv4-mapped loopback as loopback, allowed locally', () => {
    expect(addressRefusal('::ffff:127.0.0.1', 'local')).toBeNull();
    expect(addressRefusal('::ffff:127.0.0.1', 'public')).toContain('IPv4-mapped loopback');
  });

  it('refuses whatever is not an IP address', () => {
    expect(addressRefusal('hooks.example.com', 'public')).toContain('not an IP address');
  });
});

describe('parseGenerationRequest with a callback policy', () => {
  const body = (callback_url: string) => ({ model: 'kling-video/v1.6/standard/text-to-video', prompt: 'x', callback_url });
  const issuesOf = (callback_url: string, policy: CallbackPolicy) => {
    try {
      parseGenerationRequest(body(callback_url), policy);
    } catch (error) {
      if (error instanceof ValidationError) return error.issues;
      throw error;
    }
    return [];
  };

  it('rejects a hostile callback URL as a ValidationError naming callback_url', () => {
    expect(issuesOf('https://0177.0.0.1/hook', 'public')).toEqual([
      { field: 'callback_url', message: 'must not point at a non-public address: 127.0.0.1 (loopback)' },
    ]);
    expect(issuesOf('http://hooks.example.com/hook', 'public')).toEqual([{ field: 'callback_url', message: 'must be an absolute https URL' }]);
  });

  it('accepts a loopback receiver under the local policy only', () => {
    expect(parseGenerationRequest(body('http://127.0.0.1:9000/hook'), 'local').callback_url).toBe('http://127.0.0.1:9000/hook');
    expect(issuesOf('http://127.0.0.1:9000/hook', 'public')).toHaveLength(1);
  });
});

describe('callbackPolicyFromEnv', () => {
  it('reads REELHOOK_CALLBACK_POLICY', () => {
    expect(callbackPolicyFromEnv({ REELHOOK_CALLBACK_POLICY: 'public' })).toBe('public');
    expect(callbackPolicyFromEnv({ REELHOOK_CALLBACK_POLICY: 'local' })).toBe('local');
  });

  it('defaults to public inside Lambda and local elsewhere', () => {
    expect(callbackPolicyFromEnv({ AWS_LAMBDA_FUNCTION_NAME: 'reelhook-notify' })).toBe('public');
    expect(callbackPolicyFromEnv({})).toBe('local');
  });

  it('rejects an unknown policy', () => {
    expect(() => callbackPolicyFromEnv({ REELHOOK_CALLBACK_POLICY: 'open' })).toThrow('REELHOOK_CALLBACK_POLICY');
  });
});
