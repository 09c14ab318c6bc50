import { describe, expect, it } from 'vitest';
import { NumberDirectory, UnknownNumberError } from '../../src/calls/number-directory.js';

const sales = { name: 'sales', phone_number_id: '105615555715855', display_number: '15551112222' };
const support = { name: 'support', phone_number_id: '105615555715856', display_number: '15553334444' };
const directory = new NumberDirectory([sales, support]);

describe('NumberDirectory', () => {
  it('finds a number by name, by phone_number_id (exactly) and by its digits (anything else ignored)', () => {
    expect(directory.byName('support')).toBe(support);
    expect(directory.byPhoneNumberId('105615555715855')).toBe(sales);
    expect(directory.byPhoneNumberId(' 105615555715855')).toBeUndefined();
    expect(directory.byPhoneNumberId(undefined)).toBeUndefined();
    expect(directory.byDigits('+1 555-333-4444')).toBe(support);
    expect(directory.byDigits('sip:anonymous')).toBeUndefined();
    expect(directory.byDigits(undefined)).toBeUndefined();
  });

  it('finds a number as people name it: name, else phone_number_id or display number', () => {
    expect(directory.find('sales')).toBe(sales);
    expect(directory.find('105615555715856')).toBe(support);
    expect(directory.find('+1 (555) 111-2222')).toBe(sales);
    expect(directory.find('nobody')).toBeUndefined();
    expect(() => directory.resolve('nobody')).toThrow(UnknownNumberError);
    expect(() => directory.resolve('nobody')).toThrow('no business number "nobody" in numbers[] (known: sales, support)');
  });

  it('keeps config order, and the first of two numbers sharing a display number wins', () => {
    const twin = { ...support, name: 'twin', phone_number_id: '9' };
    const d = new NumberDirectory([sales, support, twin]);
    expect(d.all().map((n) => n.name)).toEqual(['sales', 'support', 'twin']);
    expect(d.byDigits('15553334444')).toBe(support);
  });
});
