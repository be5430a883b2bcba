import { useEffect, useRef, useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { TokenField, useFirstHeldToken } from './TokenField';

/** One line of the frame log. */
export interface FrameLogEntry {
  n: number;
  dir: 'sent' | 'received' | 'event';
  text: string;
}

/**
 * The WebSocket URL of a gateway URL (http→ws, https→wss) with the access token as the
 * access_token query parameter, which browsers must use (they cannot set Authorization on
 * an upgrade); the gateway strips it before the backend.
 */
export function socketUrl(gatewayURL: string, path: string, token: string): string {
  const u = new URL(gatewayURL);
  u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
  const p = path.trim().replace(/^\/+/, '');
  if (p) u.pathname = `${u.pathname.replace(/\/+$/, '')}/${p}`;
  if (token) u.searchParams.set('access_token', token);
  return u.toString();
}

const MAX_LOG = 500;

/** The WebSocket try-it console: connect with the token, send text frames, see the frames. */
export function WebSocketTryIt({ gatewayURLs }: { gatewayURLs: string[] }) {
  const [gateway, setGateway] = useState(gatewayURLs[0] ?? '');
  const [path, setPath] = useState('');
  const [token, setToken] = useState(useFirstHeldToken());
  const [tokenError, setTokenError] = useState<string | null>(null);
  const [message, setMessage] = useState('');
  const [state, setState] = useState<'closed' | 'connecting' | 'open'>('closed');
  const [log, setLog] = useState<FrameLogEntry[]>([]);
  const socket = useRef<WebSocket | null>(null);
  const seq = useRef(0);

  const add = (dir: FrameLogEntry['dir'], text: string) =>
    setLog((l) => [...l.slice(-(MAX_LOG - 1)), { n: ++seq.current, dir, text }]);

  // The socket closes with the page.
  useEffect(() => () => socket.current?.close(1000, 'page closed'), []);

  if (gatewayURLs.length === 0) return <p className="muted">The API is not deployed on a gateway yet.</p>;

  function connect() {
    if (!token.trim()) {
      setTokenError('An access token is required: get one on your application’s page.');
      return;
    }
    setTokenError(null);
    let ws: WebSocket;
    const url = socketUrl(gateway, path, token.trim());
    try {
      ws = new WebSocket(url);
    } catch (err) {
      add('event', `Cannot connect: ${(err as Error).message}`);
      return;
    }
    socket.current = ws;
    let opened = false;
    setState('connecting');
    add('event', `Connecting to ${socketUrl(gateway, path, '')}…`);
    ws.onopen = () => {
      opened = true;
      setState('open');
      add('event', 'Connected.');
    };
    ws.onmessage = (ev: MessageEvent) => add('received', typeof ev.data === 'string' ? ev.data : `(binary frame, ${(ev.data as Blob).size ?? '?'} bytes)`);
    ws.onerror = () => {
      add('event', 'The connection failed (refused, or the token was not accepted).');
      // A refused upgrade may end here without a close event.
      if (ws.readyState === WebSocket.CLOSED) {
        if (socket.current === ws) socket.current = null;
        setState('closed');
      }
    };
    ws.onclose = (ev: CloseEvent) => {
      if (socket.current === ws) socket.current = null;
      // After a failed handshake the close (1006) says no more than the error did.
      if (ev.code === 1006 && !opened) {
        setState('closed');
        return;
      }
      setState('closed');
      add('event', `Closed: code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''}.`);
    };
  }

  function send(e: FormEvent) {
    e.preventDefault();
    const ws = socket.current;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(message);
    add('sent', message);
    setMessage('');
  }

  return (
    <div className="form tryit" role="group" aria-label="WebSocket try it">
      {gatewayURLs.length > 1 && (
        <SelectField
          label="Gateway"
          value={gateway}
          onChange={setGateway}
          disabled={state !== 'closed'}
          options={gatewayURLs.map((g) => ({ value: g, label: g }))}
        />
      )}
      <TextField label="Path" value={path} onChange={setPath} monospace hint="Optional, relative to the API." disabled={state !== 'closed'} />
      <TokenField value={token} onChange={setToken} error={tokenError} />
      <div className="form-actions">
        {state === 'closed' ? (
          <button type="button" className="btn btn-primary" onClick={connect}>
            Connect
          </button>
        ) : (
          <button type="button" className="btn btn-secondary" onClick={() => socket.current?.close(1000, 'closed by the user')}>
            Disconnect
          </button>
        )}
        <span className="muted" role="status" aria-label="Connection state">
          {state === 'open' ? 'Connected' : state === 'connecting' ? 'Connecting…' : 'Not connected'}
        </span>
      </div>
      <form onSubmit={send} aria-label="Send a frame" className="form">
        <TextField label="Message" value={message} onChange={setMessage} multiline rows={3} monospace disabled={state !== 'open'} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={state !== 'open'}>
            Send
          </button>
          <button type="button" className="btn btn-secondary" onClick={() => setLog([])} disabled={log.length === 0}>
            Clear log
          </button>
        </div>
      </form>
      <ol className="frame-log mono small" aria-label="Frames" aria-live="polite">
        {log.map((f) => (
          <li key={f.n} className={`frame frame-${f.dir}`}>
            <span className="frame-dir">{f.dir === 'sent' ? '→' : f.dir === 'received' ? '←' : '•'}</span>
            <span className="sr-only">{f.dir}</span> {f.text}
          </li>
        ))}
      </ol>
    </div>
  );
}
