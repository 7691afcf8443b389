import { describe, expect, it } from 'vitest';
import { namedBits, objectIdentifier, sequence, time, tlv, unsignedInteger } from './der.js';

const hex = (buffer: Buffer) => buffer.toString('hex');

describe('DER', () => {
  it('encodes short and long lengths', () => {
    expect(hex(tlv(0x04, Buffer.alloc(3)))).toBe('0403000000');
    expect(hex(tlv(0x04, Buffer.alloc(200))).slice(0, 6)).toBe('0481c8');
    expect(hex(tlv(0x04, Buffer.alloc(300))).slice(0, 8)).toBe('0482012c');
  });

  it('keeps integers positive and minimal', () => {
    expect(hex(unsignedInteger(Buffer.from([0x80])))).toBe('02020080');
    expect(hex(unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])))).toBe('02017f');
    expect(hex(unsignedInteger(Buffer.from([0x00])))).toBe('020100');
  });

  it('encodes object identifiers with base-128 arcs', () => {
    expect(hex(objectIdentifier('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(objectIdentifier('2.5.29.17'))).toBe('0603551d11');
  });

  it('encodes named bit strings with the count of unused bits', () => {
    expect(hex(namedBits([0]))).toBe('03020780'); // digitalSignature
    expect(hex(namedBits([5, 6]))).toBe('03020106'); // keyCertSign, cRLSign
  });

  it('uses UTCTime before 2050 and GeneralizedTime after', () => {
    expect(time(new Date('2026-01-02T03:04:05Z')).toString('latin1').slice(2)).toBe('260102030405Z');
    expect(time(new Date('2051-01-02T03:04:05Z')).toString('latin1').slice(2)).toBe('20510102030405Z');
    expect(hex(sequence())).toBe('3000');
  });
});
