/**
 * Named readiness checks for GET /readyz. A dependency that is not configured yet (e.g. drachtio
 * before the SIP side exists) registers a check that reports itself as such, so /readyz says so.
 */
export interface CheckResult {
  ok: boolean;
  detail?: string;
}
export type ReadinessCheck = () => CheckResult | Promise<CheckResult>;

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private draining?: string;

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /**
   * watrunk is stopping: from now on /readyz answers not ready at once, without running the other
   * checks (a load balancer must stop sending traffic now, not after an rtpengine ping).
   */
  drain(detail: string): void {
    this.draining = detail;
  }

  async evaluate(): Promise<{ ready: boolean; checks: Record<string, CheckResult> }> {
    if (this.draining !== undefined) return { ready: false, checks: { shutdown: { ok: false, detail: this.draining } } };
    const checks: Record<string, CheckResult> = {};
    let ready = true;
    for (const [name, check] of this.checks) {
      let r: CheckResult;
      try {
        r = await check();
      } catch (err) {
        r = { ok: false, detail: `check failed: ${(err as Error).message}` };
      }
      checks[name] = r;
      if (!r.ok) ready = false;
    }
    return { ready, checks };
  }
}
