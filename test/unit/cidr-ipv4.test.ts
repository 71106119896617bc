/** The hand-written IPv4 scanner of src/net/cidr.ts against the strict dotted-quad pattern it replaced. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ipv4ToNumber, isIpv4, parseCidr } from '../../src/net/cidr.js';

/** The rule, as a pattern: four decimal octets of 0–255, no leading zeros, nothing else. */
const STRICT_IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('', '0', '00', '01', '007', '255', '256', '1000', '-1', '+1', '0x1', ' 1', '1 ', '٣'));
const quadLike = fc.array(octet, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.'));
const noise = fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '.', '/', ' ', 'a', ':', '\n'), maxLength: 20 });
const text = fc.oneof(quadLike, noise, fc.string());

const oracleValue = (s: string): number => s.split('.').reduce((value, part) => value * 256 + Number(part), 0);

describe('IPv4 text', () => {
  it('isIpv4 accepts exactly what the strict pattern accepts', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(isIpv4(s)).toBe(STRICT_IPV4.test(s));
      }),
      { numRuns: 5_000 },
    );
  });

  it('ipv4ToNumber gives the value of valid text and throws on anything else', () => {
    fc.assert(
      fc.property(text, (s) => {
        if (STRICT_IPV4.test(s)) expect(ipv4ToNumber(s)).toBe(oracleValue(s));
        else expect(() => ipv4ToNumber(s)).toThrow(`not an IPv4 address: ${JSON.stringify(s)}`);
      }),
      { numRuns: 5_000 },
    );
  });

  it('parseCidr reads the address of a prefix and names a bad one', () => {
    fc.assert(
      fc.property(text.filter((s) => !s.includes('/')), fc.integer({ min: 0, max: 32 }), (address, length) => {
        const cidr = `${address}/${length}`;
        if (!STRICT_IPV4.test(address)) {
          expect(() => parseCidr(cidr)).toThrow(`not an IPv4 address: ${JSON.stringify(address)}`);
          return;
        }
        const parsed = parseCidr(cidr, false);
        expect(parsed.length).toBe(length);
        expect(parsed.base).toBe(length === 0 ? 0 : (oracleValue(address) & (0xffffffff << (32 - length))) >>> 0);
      }),
      { numRuns: 5_000 },
    );
  });

  it.each(['0.0.0.0', '255.255.255.255', '10.1.19.0'])('accepts %s', (s) => expect(isIpv4(s)).toBe(true));
  it.each(['', '1.2.3', '1.2.3.4.', '.1.2.3', '1..2.3', '01.2.3.4', '256.1.1.1', '1.2.3.4\n', '1.2.3.4/24', '١.2.3.4'])('rejects %j', (s) => expect(isIpv4(s)).toBe(false));
});
