import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { WebSocketTryIt, socketUrl } from './WebSocketTryIt';

/** A WebSocket double: the test opens, answers and closes it. */
class FakeSocket {
  static OPEN = 1;
  static CLOSED = 3;
  static last: FakeSocket | null = null;
  readyState = 0;
  sent: string[] = [];
  closed: [number, string] | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.last = this;
  }
  send(data: string) {
    this.sent.push(data);
  }
  close(code: number, reason: string) {
    this.closed = [code, reason];
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
}

describe('WebSocketTryIt', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('connects with the token as access_token, sends frames and logs both ways, and disconnects', async () => {
    vi.stubGlobal('WebSocket', FakeSocket);
    render(<WebSocketTryIt gatewayURLs={['http://127.0.0.1:8280/chat/1.0.0']} />);
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByRole('button', { name: 'Connect' }));
    expect(screen.getByText(/An access token is required/)).toBeTruthy();
    expect(FakeSocket.last).toBeNull();
    await user.type(screen.getByLabelText(/^Access token/), 'tok 1');
    await user.click(screen.getByRole('button', { name: 'Connect' }));
    const ws = FakeSocket.last!;
    expect(ws.url).toBe('ws://127.0.0.1:8280/chat/1.0.0?access_token=tok+1');
    expect(screen.getByLabelText('Connection state').textContent).toBe('Connecting…');
    expect((screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement).disabled).toBe(true);
    act(() => ws.open());
    expect(screen.getByLabelText('Connection state').textContent).toBe('Connected');
    await user.type(screen.getByLabelText(/^Message/), 'hello');
    await user.click(screen.getByRole('button', { name: 'Send' }));
    expect(ws.sent).toEqual(['hello']);
    act(() => ws.onmessage?.({ data: 'echo: hello' }));
    const frames = screen.getByRole('list', { name: 'Frames' });
    expect(frames.textContent).toMatch(/sent hello/);
    expect(frames.textContent).toMatch(/received echo: hello/);
    // The token is not written in the log.
    expect(frames.textContent).not.toContain('tok');
    await user.click(screen.getByRole('button', { name: 'Disconnect' }));
    expect(ws.closed?.[0]).toBe(1000);
    expect(frames.textContent).toMatch(/Closed: code 1000/);
    expect(screen.getByLabelText('Connection state').textContent).toBe('Not connected');
  });

  it('logs the close code and reason the gateway sends', async () => {
    vi.stubGlobal('WebSocket', FakeSocket);
    render(<WebSocketTryIt gatewayURLs={['https://gw.example/chat/1.0.0']} />);
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/^Path/), '/room/1');
    await user.type(screen.getByLabelText(/^Access token/), 't');
    await user.click(screen.getByRole('button', { name: 'Connect' }));
    const ws = FakeSocket.last!;
    expect(ws.url).toBe('wss://gw.example/chat/1.0.0/room/1?access_token=t');
    act(() => ws.open());
    act(() => ws.onclose?.({ code: 1008, reason: 'throttled: 10 frames per minute' }));
    expect(screen.getByRole('list', { name: 'Frames' }).textContent).toContain('Closed: code 1008, throttled: 10 frames per minute.');
    expect(screen.getByRole('button', { name: 'Connect' })).toBeTruthy();
  });
});

describe('WebSocketTryIt refused', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('says the connection failed when the upgrade is refused, and offers Connect again', async () => {
    vi.stubGlobal('WebSocket', FakeSocket);
    render(<WebSocketTryIt gatewayURLs={['http://gw/chat/1.0.0']} />);
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/^Access token/), 'bad');
    await user.click(screen.getByRole('button', { name: 'Connect' }));
    const ws = FakeSocket.last!;
    act(() => {
      ws.readyState = 3;
      ws.onerror?.();
      ws.onclose?.({ code: 1006, reason: '' });
    });
    expect(screen.getByRole('list', { name: 'Frames' }).textContent).toContain('The connection failed');
    expect(screen.getByRole('list', { name: 'Frames' }).textContent).not.toContain('1006');
    expect(screen.getByLabelText('Connection state').textContent).toBe('Not connected');
    expect(screen.getByRole('button', { name: 'Connect' })).toBeTruthy();
  });
});

describe('socketUrl', () => {
  it('maps http(s) to ws(s) and adds the token', () => {
    expect(socketUrl('http://h:1/a/1.0', '', 'x')).toBe('ws://h:1/a/1.0?access_token=x');
    expect(socketUrl('https://h/a/1.0/', 'b', '')).toBe('wss://h/a/1.0/b');
  });
});
