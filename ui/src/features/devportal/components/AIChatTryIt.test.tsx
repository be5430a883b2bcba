import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AIChatTryIt } from './AIChatTryIt';

describe('AIChatTryIt', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends the message to the chosen model with the token and shows the answer and its tokens', async () => {
    const fetchMock = vi.fn(
      async () =>
        new Response(
          JSON.stringify({ model: 'small', choices: [{ message: { role: 'assistant', content: 'Bonjour !' } }], usage: { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 } }),
          { status: 200, headers: { 'content-type': 'application/json' } },
        ),
    );
    vi.stubGlobal('fetch', fetchMock);
    render(<AIChatTryIt gatewayURLs={['http://127.0.0.1:8280/chat/1.0.0']} vendor="MISTRAL" models={['large', 'small']} />);
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByRole('button', { name: 'Send' }));
    expect(screen.getByText('Write a message to send.')).toBeTruthy();
    expect(fetchMock).not.toHaveBeenCalled();
    await user.selectOptions(screen.getByLabelText('Model'), 'small');
    await user.type(screen.getByLabelText(/^Message/), 'Say hello in French');
    await user.type(screen.getByLabelText(/^Access token/), 'tok-1');
    await user.click(screen.getByRole('button', { name: 'Send' }));
    expect((await screen.findByRole('region', { name: 'Answer' })).textContent).toContain('Bonjour !');
    expect(screen.getByLabelText('Tokens used').textContent).toContain('11 prompt + 4 completion = 15 tokens');
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('http://127.0.0.1:8280/chat/1.0.0/chat/completions');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok-1');
    expect(JSON.parse(init.body as string)).toEqual({ model: 'small', messages: [{ role: 'user', content: 'Say hello in French' }] });
  });

  it('shows the gateway’s refusal, such as a prompt guard’s 400', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('{"error":"the prompt matches guard 0"}', { status: 400, statusText: 'Bad Request' })));
    render(<AIChatTryIt gatewayURLs={['http://gw/chat/1']} vendor="OPENAI" models={[]} />);
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/^Message/), 'my password is x');
    await user.type(screen.getByLabelText(/^Access token/), 't');
    await user.click(screen.getByRole('button', { name: 'Send' }));
    expect((await screen.findByText(/400 Bad Request/)).textContent).toContain('matches guard 0');
  });
});
