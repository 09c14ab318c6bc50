import { defineConfig } from 'vitest/config';

// Three tiers (see README "Tests"):
//  unit  - pure logic with fakes, no network beyond 127.0.0.1 HTTP servers started in-process
//  media - real rtpengine (Debian rtpengine-daemon) + real WebRTC peer (@roamhq/wrtc), fake SIP leg
//  e2e   - real drachtio-server (DRACHTIO_BIN or PATH) + rtpengine + SIPp; skips loudly when absent
// Tiers run one after another (groupOrder): media and e2e tests measure real-time audio and must
// not compete with the unit tier for the machine's cores.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 10_000, sequence: { groupOrder: 0 } } },
      { test: { name: 'media', include: ['test/media/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 30_000, sequence: { groupOrder: 1 }, pool: 'forks', poolOptions: { forks: { singleFork: true } } } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 60_000, sequence: { groupOrder: 2 }, pool: 'forks', poolOptions: { forks: { singleFork: true } } } },
    ],
  },
});
