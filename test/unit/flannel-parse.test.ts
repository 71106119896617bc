import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  buildLeaseSnapshot,
  configKey,
  leaseKeyFor,
  normalizePrefix,
  parseLeaseKey,
  parseLeaseValue,
  parseNetworkConfig,
  subnetsPrefix,
  validateLease,
  type RawKeyValue,
} from '../../src/leases/flannel.js';
import type { NetworkConfig } from '../../src/leases/types.js';
import { isIpv4 } from '../../src/net/cidr.js';

const PREFIX = '/coreos.com/network';
const KEY = (name: string): string => `${PREFIX}/subnets/${name}`;

describe('parseNetworkConfig', () => {
  const ok: Array<[string, string, Partial<NetworkConfig>]> = [
    ['minimal, defaults', '{"Network":"10.1.0.0/16"}', { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'udp' }],
    [
      'alloc backend, explicit SubnetLen',
      '{"Network":"10.1.0.0/16","SubnetLen":26,"Backend":{"Type":"alloc"}}',
      { network: '10.1.0.0/16', subnetLen: 26, enableIPv4: true, backendType: 'alloc' },
    ],
    [
      'keys are case-insensitive',
      '{"network":"10.2.0.0/16","subnetlen":25,"BACKEND":{"type":"VXLAN"},"enableipv4":true}',
      { network: '10.2.0.0/16', subnetLen: 25, enableIPv4: true, backendType: 'vxlan' },
    ],
    ['/22 defaults to /24', '{"Network":"10.1.0.0/22"}', { network: '10.1.0.0/22', subnetLen: 24, enableIPv4: true, backendType: 'udp' }],
    ['/23 defaults to prefix+2', '{"Network":"10.1.0.0/23"}', { network: '10.1.0.0/23', subnetLen: 25, enableIPv4: true, backendType: 'udp' }],
    ['/28 defaults to /30', '{"Network":"10.1.0.0/28"}', { network: '10.1.0.0/28', subnetLen: 30, enableIPv4: true, backendType: 'udp' }],
    ['SubnetLen 0 means default', '{"Network":"10.0.0.0/8","SubnetLen":0}', { network: '10.0.0.0/8', subnetLen: 24, enableIPv4: true, backendType: 'udp' }],
    ['SubnetLen 30 allowed', '{"Network":"10.1.0.0/16","SubnetLen":30}', { network: '10.1.0.0/16', subnetLen: 30, enableIPv4: true, backendType: 'udp' }],
    ['SubnetLen prefix+2 allowed', '{"Network":"10.1.0.0/16","SubnetLen":18}', { network: '10.1.0.0/16', subnetLen: 18, enableIPv4: true, backendType: 'udp' }],
    ['host bits canonicalised like Go', '{"Network":"10.1.2.3/16"}', { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'udp' }],
    ['null fields are defaults', '{"Network":"10.1.0.0/16","SubnetLen":null,"Backend":null,"EnableIPv4":null}', { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'udp' }],
    ['last duplicate wins', '{"network":"10.9.0.0/16","Network":"10.1.0.0/16"}', { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'udp' }],
    [
      'SubnetMin/Max inside and aligned',
      '{"Network":"10.1.0.0/16","SubnetMin":"10.1.10.0","SubnetMax":"10.1.99.0"}',
      { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'udp' },
    ],
    [
      'IPv6 fields kept but not checked without EnableIPv6',
      '{"Network":"10.1.0.0/16","IPv6Network":"fc00::/48","IPv6SubnetLen":2}',
      { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, enableIPv6: false, ipv6Network: 'fc00::/48', backendType: 'udp' },
    ],
    [
      'dual-stack: IPv6SubnetLen defaults to 64',
      '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48"}',
      { network: '10.1.0.0/16', enableIPv4: true, enableIPv6: true, ipv6Network: 'fc00::/48', ipv6SubnetLen: 64 },
    ],
    [
      'IPv6-only: no Network needed',
      '{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fc00::/48","Backend":{"Type":"alloc"}}',
      { enableIPv4: false, enableIPv6: true, ipv6Network: 'fc00::/48', ipv6SubnetLen: 64, backendType: 'alloc' },
    ],
    ['IPv6 /62 defaults to /64', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/62"}', { ipv6SubnetLen: 64 }],
    ['IPv6 /63 defaults to prefix+2', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/63"}', { ipv6SubnetLen: 65 }],
    ['IPv6 /124 defaults to /126', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/124"}', { ipv6SubnetLen: 126 }],
    ['IPv6SubnetLen explicit', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetLen":80}', { ipv6SubnetLen: 80 }],
    ['IPv6SubnetLen 126 allowed', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetLen":126}', { ipv6SubnetLen: 126 }],
    [
      'IPv6 keys are case-insensitive, host bits canonicalised like Go',
      '{"Network":"10.1.0.0/16","enableipv6":true,"ipv6network":"FC00:0:0:0::1/48","ipv6subnetlen":56}',
      { enableIPv6: true, ipv6Network: 'fc00::/48', ipv6SubnetLen: 56 },
    ],
    [
      'IPv6SubnetMin/Max inside and aligned, :: is the default',
      '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetMin":"fc00:0:0:10::","IPv6SubnetMax":"::"}',
      { ipv6SubnetLen: 64 },
    ],
    ['Backend without Type', '{"Network":"10.1.0.0/16","Backend":{}}', { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: '' }],
    ['EnableIPv4 false kept', '{"Network":"10.1.0.0/16","EnableIPv4":false}', { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: false, backendType: 'udp' }],
  ];
  it.each(ok)('%s', (_name, text, expected) => {
    const result = parseNetworkConfig(text);
    expect(result).toMatchObject({ config: expected });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', 'Network: 10.1.0.0/16', /not valid JSON/],
    ['empty', '', /not valid JSON/],
    ['array', '[1,2]', /must be a JSON object/],
    ['string', '"x"', /must be a JSON object/],
    ['missing Network', '{"SubnetLen":24}', /Network is missing/],
    ['Network not a string', '{"Network":10}', /Network must be an IPv4 CIDR string, got 10/],
    ['Network IPv6', '{"Network":"fc00::/48"}', /Network "fc00::\/48" is not an IPv4 CIDR/],
    ['Network without length', '{"Network":"10.1.0.0"}', /Network "10.1.0.0"/],
    ['Network bad octet', '{"Network":"10.1.300.0/16"}', /Network "10.1.300.0\/16"/],
    ['Network too small', '{"Network":"10.1.0.0/29"}', /too small.*\/28/],
    ['SubnetLen over 30', '{"Network":"10.1.0.0/16","SubnetLen":31}', /SubnetLen 31 is too long/],
    ['SubnetLen too short', '{"Network":"10.1.0.0/16","SubnetLen":17}', /SubnetLen 17 is too short.*at least 18/],
    ['SubnetLen equals prefix', '{"Network":"10.1.0.0/16","SubnetLen":16}', /SubnetLen 16/],
    ['SubnetLen string', '{"Network":"10.1.0.0/16","SubnetLen":"24"}', /SubnetLen must be a non-negative integer, got "24"/],
    ['SubnetLen fraction', '{"Network":"10.1.0.0/16","SubnetLen":24.5}', /SubnetLen .* got 24.5/],
    ['SubnetLen negative', '{"Network":"10.1.0.0/16","SubnetLen":-1}', /got -1/],
    ['EnableIPv4 string', '{"Network":"10.1.0.0/16","EnableIPv4":"yes"}', /EnableIPv4 must be true or false, got "yes"/],
    ['Backend string', '{"Network":"10.1.0.0/16","Backend":"vxlan"}', /Backend must be a JSON object, got "vxlan"/],
    ['Backend.Type number', '{"Network":"10.1.0.0/16","Backend":{"Type":1}}', /Backend.Type must be a string, got 1/],
    ['SubnetMin outside', '{"Network":"10.1.0.0/16","SubnetMin":"10.2.0.0"}', /SubnetMin 10.2.0.0 is not in the range/],
    ['SubnetMax unaligned', '{"Network":"10.1.0.0/16","SubnetMax":"10.1.9.5"}', /SubnetMax 10.1.9.5 is not on a SubnetLen/],
    ['SubnetMin not an IP', '{"Network":"10.1.0.0/16","SubnetMin":"ten"}', /SubnetMin must be an IPv4 address, got "ten"/],
    ['neither family', '{"EnableIPv4":false,"EnableIPv6":false}', /EnableIPv4 and EnableIPv6 are both false/],
    ['EnableIPv6 without IPv6Network', '{"Network":"10.1.0.0/16","EnableIPv6":true}', /IPv6Network is missing/],
    ['EnableIPv6 string', '{"Network":"10.1.0.0/16","EnableIPv6":"yes"}', /EnableIPv6 must be true or false/],
    ['IPv6Network IPv4', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"10.2.0.0/16"}', /IPv6Network must be an IPv6 CIDR/],
    ['IPv6Network malformed even when disabled', '{"Network":"10.1.0.0/16","IPv6Network":"fc00::"}', /IPv6Network must be an IPv6 CIDR string, got "fc00::"/],
    ['IPv6Network too small', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/125"}', /smallest useful flannel IPv6Network is a \/124/],
    ['IPv6SubnetLen over 126', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetLen":127}', /at most 126/],
    ['IPv6SubnetLen too short', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetLen":49}', /at least 50/],
    ['IPv6SubnetLen fraction', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetLen":64.5}', /non-negative integer/],
    ['IPv6SubnetMin outside', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetMin":"fd00::"}', /IPv6SubnetMin fd00:: is not in the range/],
    ['IPv6SubnetMax unaligned', '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetMax":"fc00::1"}', /IPv6SubnetMax fc00::1 is not on an IPv6SubnetLen/],
    ['IPv6SubnetMin not an IP', '{"Network":"10.1.0.0/16","IPv6SubnetMin":"ten"}', /IPv6SubnetMin must be an IPv6 address/],
  ];
  it.each(bad)('rejects %s', (_name, text, message) => {
    const result = parseNetworkConfig(text);
    expect(result).toHaveProperty('error');
    expect('error' in result ? result.error : '').toMatch(message);
  });

  it('warns about route-programming backends and non-canonical networks', () => {
    const aws = parseNetworkConfig('{"Network":"10.1.0.0/16","Backend":{"Type":"AWS-VPC"}}');
    expect(aws).toMatchObject({ config: { backendType: 'aws-vpc' } });
    expect('warnings' in aws ? aws.warnings.join('\n') : '').toMatch(/fight routesync/);
    const gce = parseNetworkConfig('{"Network":"10.1.0.0/16","Backend":{"Type":"gce"}}');
    expect('warnings' in gce ? gce.warnings : []).toHaveLength(1);
    const alloc = parseNetworkConfig('{"Network":"10.1.0.0/16","Backend":{"Type":"alloc"}}');
    expect('warnings' in alloc ? alloc.warnings : ['x']).toEqual([]);
    const hostBits = parseNetworkConfig('{"Network":"10.1.2.3/16"}');
    expect('warnings' in hostBits ? hostBits.warnings.join() : '').toMatch(/canonical.*10\.1\.0\.0\/16/);
  });

  it('refuses huge and deeply nested input without throwing', () => {
    const huge = `{"Network":"10.1.0.0/16","x":"${'a'.repeat(2 * 1024 * 1024)}"}`;
    expect(parseNetworkConfig(huge)).toMatchObject({ error: expect.stringMatching(/larger than/) });
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(() => parseNetworkConfig(deep)).not.toThrow();
    expect(parseNetworkConfig(deep)).toMatchObject({ error: expect.stringMatching(/nested more than 100 levels/) });
    const deepObject = `{"Network":"10.1.0.0/16","Backend":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    expect(() => parseNetworkConfig(deepObject)).not.toThrow();
    expect(parseNetworkConfig(deepObject)).toHaveProperty('error');
    // Brackets inside strings are not nesting.
    const brackets = JSON.stringify({ Network: '10.1.0.0/16', Note: `${'[{'.repeat(500)}\\"` });
    expect(parseNetworkConfig(brackets)).toMatchObject({ config: { network: '10.1.0.0/16' } });
    expect(parseLeaseValue(`${'['.repeat(300_000)}`)).toHaveProperty('error');
  });
});

describe('parseLeaseKey', () => {
  const cases: Array<[string, string, ReturnType<typeof parseLeaseKey>]> = [
    ['plain', KEY('10.1.19.0-24'), { subnet: '10.1.19.0/24' }],
    ['dual-stack', KEY('10.5.1.0-24&fc00::-64'), { subnet: '10.5.1.0/24', ipv6Subnet: 'fc00::/64' }],
    ['dual-stack long v6', KEY('10.5.1.0-24&fc00:0:0:1::-64'), { subnet: '10.5.1.0/24', ipv6Subnet: 'fc00:0:0:1::/64' }],
    ['zero prefix', KEY('0.0.0.0-0'), { subnet: '0.0.0.0/0' }],
    ['IPv6-only (flannel writes the empty IPv4 net)', KEY('0.0.0.0-0&fc00:0:0:7::-64'), { ipv6Subnet: 'fc00:0:0:7::/64' }],
    ['v6 canonicalised', KEY('10.5.1.0-24&fc00:0000::-64'), { subnet: '10.5.1.0/24', ipv6Subnet: 'fc00::/64' }],
    ['/32', KEY('10.1.1.1-32'), { subnet: '10.1.1.1/32' }],
    ['nested path skipped', KEY('10.1.19.0-24/extra'), { skip: true }],
    ['other name skipped', KEY('lock'), { skip: true }],
    ['empty name skipped', KEY(''), { skip: true }],
    ['outside subnets skipped', `${PREFIX}/config`, { skip: true }],
    ['other prefix skipped', '/other/network/subnets/10.1.19.0-24', { skip: true }],
    ['prefix lookalike skipped', `${PREFIX}x/subnets/10.1.19.0-24`, { skip: true }],
    ['suffix after lease skipped', KEY('10.1.19.0-24.bak'), { skip: true }],
  ];
  it.each(cases)('%s', (_name, key, expected) => {
    expect(parseLeaseKey(key, PREFIX)).toEqual(expected);
  });

  const errors: Array<[string, string, RegExp]> = [
    ['octet over 255', '10.1.300.0-24', /"10\.1\.300\.0" is not an IPv4 address/],
    ['host bits set', '10.1.19.5-24', /host bits set/],
    ['prefix over 32', '10.1.19.0-33', /prefix length 33 is over 32/],
    ['three octets', '10.1.19-24', /not an IPv4 address/],
    ['five octets', '10.1.19.0.1-24', /not an IPv4 address/],
    ['leading zero octet', '10.01.19.0-24', /not an IPv4 address/],
    ['leading zero length', '10.1.19.0-024', /malformed lease key/],
    ['huge length', '10.1.19.0-99999999999999999999', /malformed lease key/],
    ['bad v6', '10.5.1.0-24&zz::-64', /malformed lease key/],
    ['invalid v6', '10.5.1.0-24&fc00:::1::-64', /not an IPv6 subnet/],
    ['v6 length over 128', '10.5.1.0-24&fc00::-129', /not an IPv6 subnet/],
    ['empty v6', '10.5.1.0-24&', /malformed lease key/],
    ['v6 host bits set', '10.5.1.0-24&fc00::1-64', /host bits set/],
    ['v6 part the empty net', '10.5.1.0-24&::-0', /IPv6 part is empty/],
  ];
  it.each(errors)('reports %s', (_name, name, message) => {
    const result = parseLeaseKey(KEY(name), PREFIX);
    expect(result).toHaveProperty('error');
    expect('error' in result ? result.error : '').toMatch(message);
  });

  it('normalises the prefix', () => {
    expect(normalizePrefix('/coreos.com/network///')).toBe('/coreos.com/network');
    expect(parseLeaseKey(KEY('10.1.19.0-24'), `${PREFIX}/`)).toEqual({ subnet: '10.1.19.0/24' });
    expect(configKey(`${PREFIX}/`)).toBe(`${PREFIX}/config`);
    expect(subnetsPrefix(PREFIX)).toBe(`${PREFIX}/subnets/`);
    expect(leaseKeyFor(PREFIX, '10.5.1.0/24', 'fc00::/64')).toBe(KEY('10.5.1.0-24&fc00::-64'));
  });
});

describe('parseLeaseValue', () => {
  const ok: Array<[string, string, string]> = [
    ['flannel alloc', '{"PublicIP":"172.31.14.97","PublicIPv6":null}', '172.31.14.97'],
    ['vxlan', '{"PublicIP":"10.0.0.5","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}}', '10.0.0.5'],
    ['case-insensitive', '{"publicip":"10.0.0.6"}', '10.0.0.6'],
    ['odd BackendData ignored', '{"PublicIP":"10.0.0.7","BackendType":7,"BackendData":"x"}', '10.0.0.7'],
  ];
  it.each(ok)('%s', (_name, text, ip) => {
    expect(parseLeaseValue(text)).toEqual({ publicIp: ip });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '172.31.14.97', /not valid JSON/],
    ['empty', '', /not valid JSON/],
    ['null', 'null', /must be a JSON object/],
    ['missing', '{"PublicIPv6":"fc00::1"}', /no PublicIP/],
    ['null PublicIP', '{"PublicIP":null}', /no PublicIP/],
    ['number', '{"PublicIP":17}', /PublicIP 17 is not an IPv4 address/],
    ['IPv6', '{"PublicIP":"fc00::1"}', /is not an IPv4 address/],
    ['short form', '{"PublicIP":"10.1"}', /is not an IPv4 address/],
    ['octal-looking', '{"PublicIP":"010.0.0.1"}', /is not an IPv4 address/],
    ['with port', '{"PublicIP":"10.0.0.1:80"}', /is not an IPv4 address/],
    ['spaces', '{"PublicIP":" 10.0.0.1"}', /is not an IPv4 address/],
    ['unspecified', '{"PublicIP":"0.0.0.0"}', /0\.0\.0\.0/],
  ];
  it.each(bad)('rejects %s', (_name, text, message) => {
    const result = parseLeaseValue(text);
    expect(result).toHaveProperty('error');
    expect('error' in result ? result.error : '').toMatch(message);
  });
});

describe('validateLease', () => {
  const config: NetworkConfig = { network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, backendType: 'alloc' };
  const cases: Array<[string, NetworkConfig, string | RegExp | undefined]> = [
    ['10.1.19.0/24', config, undefined],
    ['10.1.0.0/24', config, undefined],
    ['10.1.255.0/24', config, undefined],
    ['10.2.19.0/24', config, /outside Network 10\.1\.0\.0\/16/],
    ['10.1.19.0/25', config, /is a \/25, but SubnetLen is 24/],
    ['10.0.0.0/8', config, /outside Network/],
    ['10.1.19.0/24', { ...config, enableIPv4: false }, /EnableIPv4 is false/],
  ];
  it.each(cases)('%s', (subnet, cfg, expected) => {
    const result = validateLease(subnet, cfg);
    if (expected === undefined) expect(result).toBeUndefined();
    else expect(result).toMatch(expected);
  });
});

describe('buildLeaseSnapshot', () => {
  const CONFIG = '{"Network":"10.1.0.0/16","Backend":{"Type":"alloc"}}';
  const kv = (name: string, value: string, createRevision: number, lease = '7587870000000001'): RawKeyValue => ({
    key: KEY(name),
    value: Buffer.from(value),
    createRevision: String(createRevision),
    modRevision: createRevision + 1,
    lease,
  });
  const ip = (n: number): string => `{"PublicIP":"172.31.0.${n}","PublicIPv6":null}`;

  it('validates, sorts by create revision then subnet, and reports bad keys and values', () => {
    const snapshot = buildLeaseSnapshot({
      prefix: PREFIX,
      revision: 42,
      configText: Buffer.from(CONFIG),
      kvs: [
        kv('10.1.3.0-24', ip(3), 12),
        kv('10.1.2.0-24', ip(2), 10, '0'),
        kv('10.1.1.0-24', ip(1), 10),
        kv('10.5.1.0-24&fc00::-64', ip(5), 9),
        kv('10.1.4.0-24&fc00:0:0:4::-64', ip(4), 8),
        kv('10.1.300.0-24', ip(9), 5),
        kv('10.1.19.5-24', ip(9), 5),
        kv('10.1.20.0-24', '{"PublicIP":"nope"}', 5),
        kv('10.1.21.0-25', ip(9), 5),
        kv('nested/10.1.22.0-24', ip(9), 5),
        { key: `${PREFIX}/config`, value: CONFIG, createRevision: 1, modRevision: 1, lease: '0' },
      ],
    });
    expect(snapshot.revision).toBe(42);
    expect(snapshot.config).toEqual({ network: '10.1.0.0/16', subnetLen: 24, enableIPv4: true, enableIPv6: false, backendType: 'alloc' });
    expect(snapshot.configError).toBeUndefined();
    expect(snapshot.leases.map(l => [l.subnet, l.nodeIp, l.createRevision, l.reservation])).toEqual([
      ['10.1.4.0/24', '172.31.0.4', 8, false],
      ['10.1.1.0/24', '172.31.0.1', 10, false],
      ['10.1.2.0/24', '172.31.0.2', 10, true],
      ['10.1.3.0/24', '172.31.0.3', 12, false],
    ]);
    expect(snapshot.leases[0]).toEqual({
      key: KEY('10.1.4.0-24&fc00:0:0:4::-64'),
      subnet: '10.1.4.0/24',
      nodeIp: '172.31.0.4',
      createRevision: 8,
      modRevision: 9,
      reservation: false,
    });
    // Under a config without EnableIPv6, a dual-stack key's IPv6 half is reported and its IPv4 half kept.
    expect(snapshot.invalid).toEqual([
      { key: KEY('10.1.19.5-24'), reason: expect.stringMatching(/host bits/) },
      { key: KEY('10.1.20.0-24'), subnet: '10.1.20.0/24', reason: expect.stringMatching(/PublicIP "nope"/) },
      { key: KEY('10.1.21.0-25'), subnet: '10.1.21.0/25', reason: expect.stringMatching(/SubnetLen is 24/) },
      { key: KEY('10.1.300.0-24'), reason: expect.stringMatching(/not an IPv4 address/) },
      { key: KEY('10.1.4.0-24&fc00:0:0:4::-64'), family: 'ipv6', subnet: 'fc00:0:0:4::/64', reason: 'IPv6 half fc00:0:0:4::/64: EnableIPv6 is false in the network config' },
      { key: KEY('10.5.1.0-24&fc00::-64'), family: 'ipv4', subnet: '10.5.1.0/24', reason: expect.stringMatching(/^IPv4 half 10.5.1.0\/24: .*outside Network/) },
      { key: KEY('10.5.1.0-24&fc00::-64'), family: 'ipv6', subnet: 'fc00::/64', reason: expect.stringMatching(/EnableIPv6 is false/) },
    ]);
  });

  it('keeps the older of two keys for the same subnet', () => {
    const snapshot = buildLeaseSnapshot({
      prefix: PREFIX,
      revision: 5,
      configText: CONFIG,
      kvs: [kv('10.1.7.0-24&fc00::-64', ip(8), 20), kv('10.1.7.0-24', ip(7), 3)],
    });
    expect(snapshot.leases.map(l => [l.key, l.nodeIp])).toEqual([[KEY('10.1.7.0-24'), '172.31.0.7']]);
    expect(snapshot.invalid).toEqual([
      { key: KEY('10.1.7.0-24&fc00::-64'), family: 'ipv4', reason: expect.stringMatching(/duplicate lease.*older key/) },
      { key: KEY('10.1.7.0-24&fc00::-64'), family: 'ipv6', subnet: 'fc00::/64', reason: expect.stringMatching(/EnableIPv6 is false/) },
    ]);
  });

  it('without a usable config, reports every lease unvalidated', () => {
    for (const [configText, message] of [
      [null, /no flannel network config at \/coreos.com\/network\/config/],
      ['{"Network":"bogus"}', /Network "bogus"/],
    ] as const) {
      const snapshot = buildLeaseSnapshot({ prefix: PREFIX, revision: 3, configText, kvs: [kv('10.1.1.0-24', ip(1), 2), kv('10.1.300.0-24', ip(1), 2)] });
      expect(snapshot.config).toBeNull();
      expect(snapshot.configError).toMatch(message);
      expect(snapshot.leases).toEqual([]);
      expect(snapshot.invalid).toEqual([
        { key: KEY('10.1.1.0-24'), subnet: '10.1.1.0/24', reason: expect.stringMatching(/^not validated: /) },
        { key: KEY('10.1.300.0-24'), reason: expect.stringMatching(/not an IPv4 address/) },
      ]);
    }
  });

  it('is deterministic whatever the input order', () => {
    const kvs = [kv('10.1.3.0-24', ip(3), 12), kv('10.1.2.0-24', ip(2), 10), kv('10.1.1.0-24', ip(1), 10), kv('10.1.9.5-24', ip(1), 1)];
    const a = buildLeaseSnapshot({ prefix: PREFIX, revision: 1, configText: CONFIG, kvs });
    const b = buildLeaseSnapshot({ prefix: PREFIX, revision: 1, configText: CONFIG, kvs: [...kvs].reverse() });
    expect(b).toEqual(a);
  });
});

describe('dual-stack leases', () => {
  const CONFIG6 = '{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","Backend":{"Type":"alloc"}}';
  const V6ONLY = '{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fc00::/48","Backend":{"Type":"alloc"}}';
  const value = (v4: string, v6: unknown): string => JSON.stringify({ PublicIP: v4, PublicIPv6: v6 });
  const kv = (name: string, text: string, rev = 10): RawKeyValue => ({ key: KEY(name), value: text, createRevision: rev, modRevision: rev, lease: '7' });
  type Half = [family: string | undefined, subnet: string, nodeIp: string];
  type Bad = [family: string | undefined, subnet: string | undefined, reason: RegExp];
  const cases: Array<[string, string, RawKeyValue[], Half[], Bad[]]> = [
    ['both halves valid', CONFIG6, [kv('10.1.1.0-24&fc00:0:0:1::-64', value('172.31.0.1', '2600:1f18::1'))], [[undefined, '10.1.1.0/24', '172.31.0.1'], ['ipv6', 'fc00:0:0:1::/64', '2600:1f18::1']], []],
    ['PublicIPv6 canonicalised', CONFIG6, [kv('10.1.1.0-24&fc00:0:0:1::-64', value('172.31.0.1', '2600:1F18:0::0001'))], [[undefined, '10.1.1.0/24', '172.31.0.1'], ['ipv6', 'fc00:0:0:1::/64', '2600:1f18::1']], []],
    ['IPv4-only key under a dual-stack config: one half', CONFIG6, [kv('10.1.2.0-24', value('172.31.0.2', null))], [[undefined, '10.1.2.0/24', '172.31.0.2']], []],
    ['IPv6-only key', V6ONLY, [kv('0.0.0.0-0&fc00:0:0:3::-64', value('0.0.0.0', '2600:1f18::3'))], [['ipv6', 'fc00:0:0:3::/64', '2600:1f18::3']], []],
    ['IPv4 key under an IPv6-only config', V6ONLY, [kv('10.1.4.0-24', value('172.31.0.4', null))], [], [[undefined, '10.1.4.0/24', /^EnableIPv4 is false/]]],
    ['no PublicIPv6: IPv4 half kept', CONFIG6, [kv('10.1.5.0-24&fc00:0:0:5::-64', value('172.31.0.5', null))], [[undefined, '10.1.5.0/24', '172.31.0.5']], [['ipv6', 'fc00:0:0:5::/64', /^IPv6 half fc00:0:0:5::\/64: lease value has no PublicIPv6$/]]],
    ['PublicIPv6 an IPv4 address', CONFIG6, [kv('10.1.6.0-24&fc00:0:0:6::-64', value('172.31.0.6', '172.31.0.6'))], [[undefined, '10.1.6.0/24', '172.31.0.6']], [['ipv6', 'fc00:0:0:6::/64', /PublicIPv6 "172.31.0.6" is not an IPv6 address/]]],
    ['PublicIPv6 with a dotted tail', CONFIG6, [kv('10.1.6.0-24&fc00:0:0:6::-64', value('172.31.0.6', '::ffff:172.31.0.6'))], [[undefined, '10.1.6.0/24', '172.31.0.6']], [['ipv6', 'fc00:0:0:6::/64', /is not an IPv6 address/]]],
    ['PublicIPv6 link-local', CONFIG6, [kv('10.1.7.0-24&fc00:0:0:7::-64', value('172.31.0.7', 'fe80::1'))], [[undefined, '10.1.7.0/24', '172.31.0.7']], [['ipv6', 'fc00:0:0:7::/64', /fe80::1 is a linkLocal address/]]],
    ['PublicIPv6 unspecified', CONFIG6, [kv('10.1.7.0-24&fc00:0:0:7::-64', value('172.31.0.7', '::'))], [[undefined, '10.1.7.0/24', '172.31.0.7']], [['ipv6', 'fc00:0:0:7::/64', /unspecified/]]],
    ['PublicIPv6 a number', CONFIG6, [kv('10.1.7.0-24&fc00:0:0:7::-64', value('172.31.0.7', 7))], [[undefined, '10.1.7.0/24', '172.31.0.7']], [['ipv6', 'fc00:0:0:7::/64', /PublicIPv6 7 is not/]]],
    ['IPv6 subnet outside IPv6Network', CONFIG6, [kv('10.1.8.0-24&fd00:0:0:8::-64', value('172.31.0.8', '2600:1f18::8'))], [[undefined, '10.1.8.0/24', '172.31.0.8']], [['ipv6', 'fd00:0:0:8::/64', /outside IPv6Network fc00::\/48/]]],
    ['IPv6 subnet not IPv6SubnetLen long', CONFIG6, [kv('10.1.9.0-24&fc00:0:0:9::-80', value('172.31.0.9', '2600:1f18::9'))], [[undefined, '10.1.9.0/24', '172.31.0.9']], [['ipv6', 'fc00:0:0:9::/80', /is a \/80, but IPv6SubnetLen is 64/]]],
    ['bad IPv4 half: IPv6 half kept', CONFIG6, [kv('10.2.1.0-24&fc00:0:0:a::-64', value('172.31.0.10', '2600:1f18::a'))], [['ipv6', 'fc00:0:0:a::/64', '2600:1f18::a']], [['ipv4', '10.2.1.0/24', /^IPv4 half 10.2.1.0\/24: subnet 10.2.1.0\/24 is outside Network/]]],
    ['bad PublicIP: IPv6 half kept', CONFIG6, [kv('10.1.11.0-24&fc00:0:0:b::-64', value('nope', '2600:1f18::b'))], [['ipv6', 'fc00:0:0:b::/64', '2600:1f18::b']], [['ipv4', '10.1.11.0/24', /PublicIP "nope"/]]],
    ['value not JSON: both halves reported, both protected', CONFIG6, [kv('10.1.12.0-24&fc00:0:0:c::-64', '{')], [], [['ipv4', '10.1.12.0/24', /not valid JSON/], ['ipv6', 'fc00:0:0:c::/64', /not valid JSON/]]],
    [
      'an IPv6 subnet held by an older key: the newer half is a duplicate',
      CONFIG6,
      [kv('10.1.13.0-24&fc00:0:0:d::-64', value('172.31.0.13', '2600:1f18::d'), 5), kv('10.1.14.0-24&fc00:0:0:d::-64', value('172.31.0.14', '2600:1f18::e'), 9)],
      [[undefined, '10.1.13.0/24', '172.31.0.13'], ['ipv6', 'fc00:0:0:d::/64', '2600:1f18::d'], [undefined, '10.1.14.0/24', '172.31.0.14']],
      [['ipv6', undefined, /duplicate lease for fc00:0:0:d::\/64: the older key .*10.1.13.0-24/]],
    ],
  ];
  it.each(cases)('%s', (_name, config, kvs, halves, bad) => {
    const snapshot = buildLeaseSnapshot({ prefix: PREFIX, revision: 20, configText: config, kvs });
    expect(snapshot.configError).toBeUndefined();
    expect(snapshot.leases.map((l) => [l.family, l.subnet, l.nodeIp])).toEqual(halves);
    expect(snapshot.invalid.map((i) => [i.family, i.subnet, i.reason])).toEqual(bad.map(([f, sn, r]) => [f, sn, expect.stringMatching(r)]));
  });

  it('builds the key flannel writes for each form', () => {
    expect(leaseKeyFor(PREFIX, '10.1.1.0/24', 'fc00:0:0:1::/64')).toBe(KEY('10.1.1.0-24&fc00:0:0:1::-64'));
    expect(leaseKeyFor(PREFIX, undefined, 'fc00:0:0:1::/64')).toBe(KEY('0.0.0.0-0&fc00:0:0:1::-64'));
  });
});

describe('properties', () => {
  const octet = fc.integer({ min: 0, max: 255 });
  const ipv4 = fc.tuple(octet, octet, octet, octet).map(parts => parts.join('.'));
  const ipv4ish = fc.oneof(ipv4, fc.string(), fc.constantFrom('0.0.0.0', '10.1', '01.2.3.4', '256.1.1.1', '::1'));
  const prefixLen = fc.integer({ min: 0, max: 40 });
  const leaseName = fc.oneof(
    fc.tuple(ipv4, prefixLen).map(([ip, len]) => `${ip}-${len}`),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), prefixLen).map(([b, c, len]) => `10.${b}.${c}.0-${len}`),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([b, c]) => `10.1.${b}.${c}-24&fc00::-64`),
    fc.string(),
    fc.string({ unit: fc.constantFrom('0', '1', '.', '-', '&', '/', ':', 'f', '9') }),
  );
  const key = fc.oneof(leaseName.map(name => KEY(name)), fc.string(), fc.constant(`${PREFIX}/config`));
  const value = fc.oneof(
    ipv4ish.map(ip => JSON.stringify({ PublicIP: ip, PublicIPv6: null })),
    fc.json(),
    fc.string(),
    fc.jsonValue().map(v => JSON.stringify({ PublicIP: v })),
  );
  const network = fc.tuple(octet, octet, fc.integer({ min: 0, max: 32 })).map(([a, b, len]) => `${a}.${b}.0.0/${len}`);
  const config = fc.oneof(
    fc.record(
      {
        Network: fc.oneof(network, fc.jsonValue()),
        SubnetLen: fc.oneof(fc.integer({ min: -2, max: 40 }), fc.jsonValue()),
        EnableIPv4: fc.oneof(fc.boolean(), fc.jsonValue()),
        Backend: fc.oneof(fc.record({ Type: fc.oneof(fc.constantFrom('alloc', 'vxlan', 'aws-vpc'), fc.jsonValue()) }), fc.jsonValue()),
        SubnetMin: ipv4ish,
      },
      { requiredKeys: [] },
    ).map(obj => JSON.stringify(obj)),
    fc.json(),
    fc.string(),
  );
  const rawKv = fc.record({
    key,
    value: fc.oneof(value, value.map(v => Buffer.from(v)), fc.uint8Array({ maxLength: 40 }).map(bytes => Buffer.from(bytes))),
    createRevision: fc.oneof(fc.nat(), fc.nat().map(String), fc.string()),
    modRevision: fc.oneof(fc.nat(), fc.nat().map(String)),
    lease: fc.oneof(fc.constant('0'), fc.constant(0), fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String)),
  });

  it('never throws on arbitrary input, and every lease it returns is valid', () => {
    fc.assert(
      fc.property(fc.option(config, { nil: null }), fc.array(rawKv, { maxLength: 25 }), fc.nat(), (configText, kvs, revision) => {
        const snapshot = buildLeaseSnapshot({ prefix: PREFIX, revision, configText, kvs });
        expect(snapshot.revision).toBe(revision);
        if (snapshot.config === null) {
          expect(snapshot.leases).toEqual([]);
          expect(snapshot.configError).toEqual(expect.any(String));
        }
        const subnets = new Set<string>();
        for (const lease of snapshot.leases) {
          const cfg = snapshot.config;
          expect(cfg).not.toBeNull();
          if (cfg === null) return;
          expect(validateLease(lease.subnet, cfg)).toBeUndefined();
          expect(parseLeaseKey(lease.key, PREFIX)).toMatchObject({ subnet: lease.subnet });
          expect(isIpv4(lease.nodeIp)).toBe(true);
          expect(subnets.has(lease.subnet)).toBe(false);
          subnets.add(lease.subnet);
        }
        for (let i = 1; i < snapshot.leases.length; i++) {
          const [a, b] = [snapshot.leases[i - 1], snapshot.leases[i]];
          expect((a?.createRevision ?? 0) <= (b?.createRevision ?? 0)).toBe(true);
        }
        const keys = new Set(kvs.map(kv => kv.key));
        for (const bad of snapshot.invalid) expect(keys.has(bad.key)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('parsers never throw on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (text, prefix) => {
        const config = parseNetworkConfig(text);
        expect('config' in config || 'error' in config).toBe(true);
        const leaseValue = parseLeaseValue(text);
        expect('publicIp' in leaseValue ? isIpv4(leaseValue.publicIp) : typeof leaseValue.error === 'string').toBe(true);
        parseLeaseKey(text, prefix);
        parseLeaseKey(`${prefix}/subnets/${text}`, prefix);
      }),
      { numRuns: 2000 },
    );
  });

  it('a parsed config always satisfies flannel’s SubnetLen rules', () => {
    fc.assert(
      fc.property(config, text => {
        const result = parseNetworkConfig(text);
        if (!('config' in result)) return;
        const length = Number((result.config.network ?? "").split('/')[1]);
        expect(result.config.subnetLen).toBeLessThanOrEqual(30);
        expect(result.config.subnetLen).toBeGreaterThanOrEqual(length + 2);
        expect(result.config.backendType).toBe(result.config.backendType.toLowerCase());
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips flannel key names', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (b, c) => {
        const subnet = `10.${b}.${c}.0/24`;
        expect(parseLeaseKey(leaseKeyFor(PREFIX, subnet), PREFIX)).toEqual({ subnet });
      }),
    );
  });
});
