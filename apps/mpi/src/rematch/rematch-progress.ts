/** Progress of a background phase: share done and a linear estimate of the time left. */
export interface Progress {
  readonly processed: number;
  readonly total: number;
  /** 0–100, one decimal. */
  readonly percent: number;
  /** Seconds left at the rate so far; null before the first record or when done. */
  readonly etaSeconds: number | null;
}

/** Linear ETA: elapsed / processed × remaining. Pure. */
export function progressOf(processed: number, total: number, startedAt: Date, now: Date): Progress {
  const percent = total === 0 ? 100 : Math.round((processed / total) * 1000) / 10;
  const remaining = total - processed;
  const elapsedS = Math.max(0, (now.getTime() - startedAt.getTime()) / 1000);
  const etaSeconds = processed === 0 || remaining <= 0 ? null : Math.ceil((elapsedS / processed) * remaining);
  return { processed, total, percent, etaSeconds };
}
