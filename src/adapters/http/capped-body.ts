import type { Dispatcher } from 'undici';

/** The body as UTF-8 text, or undefined once it grows past maxBytes (the stream is then destroyed). */
export async function readCappedBody(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) return undefined; // leaving the loop destroys the stream
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
