import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_STATUSES, type CredentialStatus } from '../../lambdas/shared/domain/decision';
import { credentialsByStateChart, hatching, STATE_STYLE } from '../../lambdas/shared/evidence/report-charts';

/** The points a hatching path draws through: line ends, and each dot's left, right, top and bottom. */
function pointsOf(path: string): [number, number][] {
  const d = /d="([^"]*)"/.exec(path)?.[1] ?? '';
  const points: [number, number][] = [];
  let x = 0;
  let y = 0;
  for (const [, command = '', args = ''] of d.matchAll(/([MLHVa])([^MLHVa]*)/g)) {
    const n = args.split(/[ ,]+/).filter(Boolean).map(Number);
    if (command === 'M' || command === 'L') [x = 0, y = 0] = n;
    else if (command === 'H') x = n[0] ?? 0;
    else if (command === 'V') y = n[0] ?? 0;
    else {
      // The first arc of a dot: radius r, from its left edge to its right.
      const r = n[0] ?? 0;
      points.push([x + 2 * r, y], [x + r, y - r], [x + r, y + r]);
      continue;
    }
    points.push([x, y]);
  }
  return points;
}

const box = fc.record({
  x: fc.double({ min: 0, max: 900, noNaN: true }),
  y: fc.double({ min: 0, max: 250, noNaN: true }),
  w: fc.double({ min: 0.5, max: 100, noNaN: true }),
  h: fc.double({ min: 0.5, max: 200, noNaN: true }),
});

describe('the credentials-by-state chart, for print', () => {
  it('draws each state’s hatching as shapes inside its box, so nothing spills into the next bar', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CREDENTIAL_STATUSES), box, (status, { x, y, w, h }) => {
        // Coordinates are written to 0.1 px: a point may sit that far outside.
        const slack = 0.06;
        for (const [px, py] of pointsOf(hatching(status, x, y, w, h))) {
          expect(px).toBeGreaterThanOrEqual(x - slack);
          expect(px).toBeLessThanOrEqual(x + w + slack);
          expect(py).toBeGreaterThanOrEqual(y - slack);
          expect(py).toBeLessThanOrEqual(y + h + slack);
        }
      }),
    );
  });

  it('hatches every state but active in a box at least one mark wide and tall', () => {
    for (const status of CREDENTIAL_STATUSES) {
      const drawn = hatching(status, 100.3, 40.7, 8, 8);
      if (status === 'active') expect(drawn).toBe('');
      else expect(pointsOf(drawn).length, status).toBeGreaterThan(0);
    }
  });

  it('has no pattern fill, which Chromium would print as a bitmap, and a swatch of each state’s colour', () => {
    const counts = Object.fromEntries(CREDENTIAL_STATUSES.map((s) => [s, 3])) as Record<
      CredentialStatus,
      number
    >;
    const chart = credentialsByStateChart([
      { day: '2026-10-01', counts },
      { day: '2026-10-02', counts },
    ]);

    expect(chart).not.toContain('<pattern');
    expect(chart).not.toContain('url(#');
    for (const status of CREDENTIAL_STATUSES) {
      expect(chart).toContain(`<rect data-state="${status}"`);
      expect(chart).toContain(`fill="${STATE_STYLE[status].colour}"`);
      expect(chart).toContain(`${status} (${STATE_STYLE[status].hatching})`);
    }
  });
});
