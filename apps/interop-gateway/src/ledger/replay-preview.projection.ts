import type { IdentityCorrection, MappedIdentity } from '../mapping/mapped-identity.policy';
import { isProvisionalSystem } from '../mapping/mapped-identity.policy';
import type { MappingDecision } from '../mapping/mapping-outcome.policy';

/** Where source records move: (institution, identifier system) → (institution, identifier system). */
export interface IdentityMove {
  readonly from: { readonly institutionId: string; readonly system: string; readonly provisional: boolean };
  readonly to: { readonly institutionId: string; readonly system: string };
  /** Distinct source records retired into corrected ones. */
  readonly records: number;
  readonly messages: number;
}

/**
 * What a filtered replay would change (`POST /ledger/replays` with `dryRun`). Counts and identifier
 * systems only, never local patient ids: the ledger ids let an operator open a message (audited).
 */
export interface ReplayPreview {
  readonly dryRun: true;
  readonly messages: number;
  readonly wouldMap: number;
  readonly wouldFail: number;
  /** Mapped again to the same source record and items (or never mapped before: nothing to correct). */
  readonly unchanged: number;
  readonly identities: {
    /** Distinct source records that would be retired into corrected ones. */
    readonly corrected: number;
    readonly moves: readonly IdentityMove[];
  };
  readonly items: {
    /** Distinct items the previous mappings indexed that the replay no longer produces (withdrawn). */
    readonly withdrawn: number;
    /** Distinct items the replay indexes (new ids, or the same ids under the corrected record). */
    readonly indexed: number;
  };
  readonly consents: {
    /**
     * Source records whose consent directives, coverage and holder status follow them into the
     * corrected records (the consent service moves whatever is anchored there; the gateway cannot
     * see which of them carry directives).
     */
    readonly sourceRecordsFollowed: number;
  };
  /** The first messages that would fail, with the mapper's reason (no field values). */
  readonly failures: ReadonlyArray<{ readonly ledgerId: string; readonly detail: string }>;
}

const MAX_FAILURES = 20;

/** Accumulates replay decisions into a ReplayPreview. */
export class ReplayPreviewBuilder {
  private messages = 0;
  private wouldMap = 0;
  private wouldFail = 0;
  private unchanged = 0;
  private readonly withdrawn = new Set<string>();
  private readonly indexed = new Set<string>();
  private readonly retired = new Set<string>();
  private readonly moves = new Map<
    string,
    { move: Omit<IdentityMove, 'records' | 'messages'>; records: Set<string>; messages: number }
  >();
  private readonly failures: Array<{ ledgerId: string; detail: string }> = [];

  add(
    ledgerId: string,
    decision: MappingDecision,
    next: MappedIdentity | null,
    correction: IdentityCorrection,
  ): void {
    this.messages += 1;
    if (decision.status === 'failed') {
      this.wouldFail += 1;
      if (this.failures.length < MAX_FAILURES) this.failures.push({ ledgerId, detail: decision.detail });
      return;
    }
    this.wouldMap += 1;
    for (const item of next?.items ?? [])
      this.indexed.add(`${next?.institutionId ?? ''}|${item.resourceType}/${item.id}`);
    const owner = correction.prior?.institutionId ?? next?.institutionId ?? '';
    for (const item of correction.withdrawn) this.withdrawn.add(`${owner}|${item.resourceType}/${item.id}`);
    const prior = correction.prior;
    if (prior === null || next === null) {
      // A message never mapped before (previous null) has nothing to correct.
      if (correction.withdrawn.length === 0) this.unchanged += 1;
      return;
    }
    const record = JSON.stringify([prior.institutionId, prior.system, prior.localId]);
    this.retired.add(record);
    const key = JSON.stringify([prior.institutionId, prior.system, next.institutionId, next.patient.system]);
    const entry = this.moves.get(key) ?? {
      move: {
        from: {
          institutionId: prior.institutionId,
          system: prior.system,
          provisional: isProvisionalSystem(prior.system),
        },
        to: { institutionId: next.institutionId, system: next.patient.system },
      },
      records: new Set<string>(),
      messages: 0,
    };
    entry.records.add(record);
    entry.messages += 1;
    this.moves.set(key, entry);
  }

  build(): ReplayPreview {
    return {
      dryRun: true,
      messages: this.messages,
      wouldMap: this.wouldMap,
      wouldFail: this.wouldFail,
      unchanged: this.unchanged,
      identities: {
        corrected: this.retired.size,
        moves: [...this.moves.values()].map((m) => ({
          ...m.move,
          records: m.records.size,
          messages: m.messages,
        })),
      },
      items: { withdrawn: this.withdrawn.size, indexed: this.indexed.size },
      consents: { sourceRecordsFollowed: this.retired.size },
      failures: this.failures,
    };
  }
}
