import { describe, expect, it } from 'vitest';
import { contextPath, email, httpUrl, httpUrlList, integer, maxLength, newPassword, password, resourcePath, splitList, username, version } from './validate';

describe('validators', () => {
  const cases: Array<{ desc: string; fn: (v: string) => string | null; value: string; ok: boolean }> = [
    { desc: 'context with leading slash', fn: contextPath, value: '/pets', ok: true },
    { desc: 'nested context', fn: contextPath, value: '/shop/pets', ok: true },
    { desc: 'context without slash', fn: contextPath, value: 'pets', ok: false },
    { desc: 'empty context', fn: contextPath, value: '', ok: false },
    { desc: 'context with trailing slash', fn: contextPath, value: '/pets/', ok: false },
    { desc: 'context root only', fn: contextPath, value: '/', ok: false },
    { desc: 'context with space', fn: contextPath, value: '/my pets', ok: false },
    { desc: 'context with template', fn: contextPath, value: '/pets/{id}', ok: false },
    { desc: 'http URL', fn: httpUrl, value: 'http://127.0.0.1:8080/v1', ok: true },
    { desc: 'https URL', fn: httpUrl, value: 'https://backend.example.com', ok: true },
    { desc: 'ftp URL', fn: httpUrl, value: 'ftp://example.com', ok: false },
    { desc: 'javascript URL', fn: httpUrl, value: 'javascript:alert(1)', ok: false },
    { desc: 'relative URL', fn: httpUrl, value: '/v1/pets', ok: false },
    { desc: 'empty URL', fn: httpUrl, value: ' ', ok: false },
    { desc: 'semantic version', fn: version, value: '1.0.0', ok: true },
    { desc: 'v-prefixed version', fn: version, value: 'v2', ok: true },
    { desc: 'version with slash', fn: version, value: '1/0', ok: false },
    { desc: 'resource template', fn: resourcePath, value: '/pets/{petId}', ok: true },
    { desc: 'resource wildcard', fn: resourcePath, value: '/*', ok: true },
    { desc: 'resource unbalanced', fn: resourcePath, value: '/pets/{petId', ok: false },
    { desc: 'resource without slash', fn: resourcePath, value: 'pets', ok: false },
    { desc: 'username', fn: username, value: 'alice.smith', ok: true },
    { desc: 'short username', fn: username, value: 'al', ok: false },
    { desc: 'password of 8', fn: password, value: '12345678', ok: true },
    { desc: 'short password', fn: password, value: 'short', ok: false },
    { desc: 'new password of 8', fn: (v) => newPassword(v), value: '12345678', ok: true },
    { desc: 'new password of 256', fn: (v) => newPassword(v), value: 'p'.repeat(256), ok: true },
    { desc: 'new password of 257', fn: (v) => newPassword(v), value: 'p'.repeat(257), ok: false },
    { desc: 'new password of 7', fn: (v) => newPassword(v), value: '1234567', ok: false },
    { desc: 'empty new password', fn: (v) => newPassword(v), value: '', ok: false },
    { desc: 'text within the limit', fn: maxLength('Description', 5), value: '  abcde  ', ok: true },
    { desc: 'text over the limit', fn: maxLength('Description', 5), value: 'abcdef', ok: false },
    { desc: 'empty optional email', fn: (v) => email(v), value: '', ok: true },
    { desc: 'bad email', fn: (v) => email(v), value: 'not-an-email', ok: false },
    { desc: 'integer in range', fn: integer('Count', { min: 1 }), value: '10', ok: true },
    { desc: 'integer below min', fn: integer('Count', { min: 1 }), value: '0', ok: false },
    { desc: 'decimal for integer', fn: integer('Count'), value: '1.5', ok: false },
    { desc: 'optional empty integer', fn: integer('Count', { optional: true }), value: '', ok: true },
  ];
  for (const c of cases) {
    it(`${c.ok ? 'accepts' : 'rejects'} ${c.desc}`, () => {
      const res = c.fn(c.value);
      if (c.ok) expect(res).toBeNull();
      else expect(res).toEqual(expect.any(String));
    });
  }

  it('checks each URL of a list and the minimum count', () => {
    expect(httpUrlList([], 1, 'Production endpoints')).toMatch(/at least one/);
    expect(httpUrlList(['https://a.example', 'nope'], 1, 'Production endpoints')).toMatch(/nope/);
    expect(httpUrlList(['https://a.example', 'http://b.example'], 2, 'Production endpoints')).toBeNull();
  });

  it('counts a new password as the server does: at least 8 characters, at most 256 bytes', () => {
    // Eight emoji are 8 characters (16 UTF-16 units); 65 of them are 260 bytes.
    expect(newPassword('😀'.repeat(8))).toBeNull();
    expect(newPassword('😀'.repeat(65))).toBe('New password must be at most 256 characters.');
    expect(newPassword('short', 'Password')).toBe('Password must be at least 8 characters.');
  });

  it('counts characters, not UTF-16 units, for text limits', () => {
    expect(maxLength('Name', 3)('😀😀😀')).toBeNull();
    expect(maxLength('Name', 3)('😀😀😀😀')).toBe('Name must be at most 3 characters (it has 4).');
  });

  it('splits lists, trimming and dropping duplicates', () => {
    expect(splitList(' pets, animals ,pets,\n store ,')).toEqual(['pets', 'animals', 'store']);
  });
});
