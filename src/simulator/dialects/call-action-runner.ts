import type { FastifyReply } from 'fastify';
import type { CallsRequest } from '../calls-request.js';
import { GraphError } from '../graph-error.js';
import { callOf, faultLabel, handleCallAction, playGraphFault } from '../graph-routes.js';
import type { BusinessNumber, SimulatorRuntime } from '../runtime.js';

/**
 * A call action in any dialect: the same checks, call state machine, scripted users and Graph
 * faults as Meta's POST /{PNID}/calls (graph-routes.ts), with the answer written in the dialect's
 * wire format. An injected `error` fault is encoded by the dialect too (a 429 with code 613 becomes
 * CAMS's Throttling, for instance); `hang` and `reset` are the same everywhere.
 */

/** What handleCallAction answers, in Meta's shape: {calls: [{id}]} for connect, {success: true} otherwise. */
export type MetaCallsAnswer = { messaging_product: string; calls?: Array<{ id: string }>; success?: boolean };

export interface DialectAnswers {
  /** The dialect's name, recorded as the "version" of each action (/_sim/calls). */
  label: string;
  error(err: GraphError): { status: number; body: unknown };
  success(answer: MetaCallsAnswer, req: CallsRequest): unknown;
}

export function sendDialectError(reply: FastifyReply, answers: DialectAnswers, err: GraphError): FastifyReply {
  const { status, body } = answers.error(err);
  return reply.code(status).send(body);
}

export async function runCallsRequest(
  rt: SimulatorRuntime, reply: FastifyReply, number: BusinessNumber, req: CallsRequest, answers: DialectAnswers,
): Promise<FastifyReply> {
  const version = answers.label;
  const fault = rt.faults.decideGraph(req.action);
  const play = (): Promise<FastifyReply> | FastifyReply => (fault!.fault === 'error'
    ? sendDialectError(reply, answers, new GraphError(fault!.code ?? 1, 'Simulated fault', undefined, fault!.status))
    : playGraphFault(rt, reply, fault!));
  if (fault && !fault.applied) {
    const result = fault.fault === 'error' ? fault.code ?? 1 : fault.fault === 'hang' ? 'no_answer' : 'reset';
    callOf(rt, number, req, undefined)?.actions.push({ action: req.action, at: rt.clock(), graphVersion: version, result, fault: faultLabel(fault) });
    rt.log.info({ action: req.action, fault: faultLabel(fault), dialect: version }, 'call action failed by an injected fault');
    return play();
  }
  let answer: unknown;
  let error: GraphError | undefined;
  try {
    answer = await handleCallAction(rt, number, req, version);
  } catch (err) {
    if (!(err instanceof GraphError)) throw err;
    error = err;
  }
  if (!fault) return error ? sendDialectError(reply, answers, error) : reply.code(200).send(answers.success(answer as MetaCallsAnswer, req));
  const record = callOf(rt, number, req, answer)?.actions.filter((a) => a.action === req.action).at(-1);
  if (record) record.fault = faultLabel(fault);
  rt.log.info({ action: req.action, fault: faultLabel(fault), dialect: version }, 'call action carried out, its answer replaced by an injected fault');
  return play();
}
