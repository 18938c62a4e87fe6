import { WebhookReceiver } from '../../../test/helpers/webhook-receiver';
import { sendWebhook } from './webhook-sender';

describe('sendWebhook (against a receiver over HTTP)', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => (receiver = await WebhookReceiver.start()));
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.answer = () => 200;
  });

  it('POSTs the body with the headers and reports the answer', async () => {
    const result = await sendWebhook(receiver.url, '{"a":1}', { 'webhook-id': 'evt_1' }, true);
    expect(result).toEqual({ status: 200, durationMs: expect.any(Number), error: null });
    expect(receiver.received[0].body).toBe('{"a":1}');
    expect(receiver.received[0].headers).toMatchObject({ 'webhook-id': 'evt_1', 'content-type': 'application/json' });
  });

  it('counts a redirect and any other non-2xx answer as a failure, and follows no redirect', async () => {
    receiver.answer = (_, index) => (index === 0 ? 302 : 500);
    expect((await sendWebhook(receiver.url, '{}', {}, true)).error).toBe('the receiver answered 302');
    expect(await sendWebhook(receiver.url, '{}', {}, true)).toMatchObject({
      status: 500,
      error: 'the receiver answered 500',
    });
    expect(receiver.received).toHaveLength(2);
  });

  it('refuses, at delivery, an address that is not public unless private targets are allowed, without connecting', async () => {
    const port = new URL(receiver.url).port;
    for (const url of [receiver.url, `http://localhost:${port}/hooks`, `http://[::ffff:127.0.0.1]:${port}/hooks`]) {
      const result = await sendWebhook(url, '{}', {}, false);
      expect([url, result.status, result.error]).toEqual([
        url,
        null,
        expect.stringMatching(/loopback, private or link-local/),
      ]);
    }
    expect(receiver.received).toHaveLength(0);
  });

  it('gives up on a receiver that does not answer within 10 seconds', async () => {
    receiver.answer = () => 'hang';
    const result = await sendWebhook(receiver.url, '{}', {}, true);
    expect(result.error).toBe('no answer within 10 s');
    expect(result.durationMs).toBeGreaterThanOrEqual(9_900);
  }, 20_000);
});
