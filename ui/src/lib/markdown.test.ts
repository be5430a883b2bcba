import { describe, expect, it } from 'vitest';
import { renderMarkdown, sanitizeHtml } from './markdown';

describe('renderMarkdown', () => {
  it('renders ordinary Markdown', () => {
    const html = renderMarkdown('# Pets\n\nList **all** pets with `GET /pets`.\n\n- one\n- two');
    expect(html).toContain('<h1>Pets</h1>');
    expect(html).toContain('<strong>all</strong>');
    expect(html).toContain('<code>GET /pets</code>');
    expect(html).toContain('<li>one</li>');
  });

  const attacks: Array<{ desc: string; source: string; forbidden: RegExp[] }> = [
    { desc: 'script element', source: 'Hi <script>alert(1)</script>', forbidden: [/<script/i, /alert\(1\)/] },
    { desc: 'img onerror', source: '<img src=x onerror="alert(1)">', forbidden: [/onerror/i] },
    { desc: 'svg onload', source: '<svg onload=alert(1)><circle r=1 /></svg>', forbidden: [/onload/i] },
    { desc: 'javascript: link in Markdown', source: '[click](javascript:alert(1))', forbidden: [/javascript:/i] },
    { desc: 'javascript: link in HTML', source: '<a href="javascript:alert(1)">x</a>', forbidden: [/javascript:/i] },
    { desc: 'iframe', source: '<iframe src="https://evil.example"></iframe>', forbidden: [/<iframe/i] },
    { desc: 'inline style', source: '<p style="background:url(x)">x</p>', forbidden: [/style=/i] },
    { desc: 'form', source: '<form action="https://evil.example"><input name=a></form>', forbidden: [/<form/i, /<input/i] },
    { desc: 'event handler on a div', source: '<div onclick="steal()">x</div>', forbidden: [/onclick/i] },
    { desc: 'data: URL script', source: '<a href="data:text/html,<script>alert(1)</script>">x</a>', forbidden: [/<script/i] },
  ];
  for (const a of attacks) {
    it(`removes ${a.desc}`, () => {
      const html = renderMarkdown(a.source);
      for (const f of a.forbidden) expect(html).not.toMatch(f);
    });
  }

  it('keeps a safe link and opens it without opener', () => {
    const html = renderMarkdown('[docs](https://example.com/docs)');
    expect(html).toContain('href="https://example.com/docs"');
    expect(html).toContain('rel="noopener noreferrer"');
  });

  it('does not execute anything when inserted into the DOM', () => {
    const host = document.createElement('div');
    (window as unknown as { __pwned?: boolean }).__pwned = false;
    host.innerHTML = renderMarkdown('<img src=x onerror="window.__pwned=true"><script>window.__pwned=true</script>');
    document.body.appendChild(host);
    expect(host.querySelector('script')).toBeNull();
    expect(host.querySelector('img')?.getAttribute('onerror')).toBeNull();
    expect((window as unknown as { __pwned?: boolean }).__pwned).toBe(false);
    host.remove();
  });

  it('sanitizeHtml strips dangerous markup from raw HTML', () => {
    expect(sanitizeHtml('<b onmouseover="x()">b</b>')).toBe('<b>b</b>');
  });
});
