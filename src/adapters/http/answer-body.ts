/**
 * Something wrong in a 2xx body, found by a reader: ProviderHttpClient turns it into the provider's
 * protocol error with this message.
 */
export class BodyProblem extends Error {
  override readonly name = 'BodyProblem';
}

/** The body as JSON, or a BodyProblem "body is not JSON". */
export function jsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BodyProblem('body is not JSON');
  }
}

/**
 * Runs an operation's parser over the body; whatever it throws becomes a BodyProblem with the same
 * message, so even a ProviderError from a parser is reported as a protocol error.
 */
export function parsedBy<D, T>(parse: (doc: D) => T, doc: D): T {
  try {
    return parse(doc);
  } catch (err) {
    throw new BodyProblem((err as Error).message);
  }
}
