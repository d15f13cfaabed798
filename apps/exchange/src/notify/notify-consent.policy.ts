import { Inject, Injectable } from '@nestjs/common';
import type { Coding } from '@medplum/fhirtypes';
import { decideItem, decidePatient, PURPOSES_OF_USE } from '@tessera/consent-policy';
import type { PatientPolicy, PurposeOfUse, RegionPolicy } from '@tessera/consent-policy';
import { PatientPolicyService } from '../policy/patient-policy.service';
import { REGION_POLICY } from '../policy/region.provider';

export interface NotifiedItem {
  readonly sourceInstitution: string;
  readonly labels: readonly Coding[];
}

/**
 * The consent rule of a notification: a notification discloses that an item exists, so it is sent
 * only when the subscriber could read that item through the exchange for the subscription's purpose
 * (libs/consent-policy decidePatient + decideItem, the same decision as a query). An opt-out hides
 * everything from institutions that hold no record of the person (they still learn of their own
 * items); a label the subscriber may not see hides the item. No break-the-glass: a notification is
 * never an emergency read.
 */
@Injectable()
export class NotifyConsentPolicy {
  constructor(
    private readonly policies: PatientPolicyService,
    @Inject(REGION_POLICY) private readonly region: RegionPolicy,
  ) {}

  /** The person's policy (null: the consent service does not know the person). Throws when it cannot be had. */
  policyOf(enterpriseId: string): Promise<PatientPolicy | null> {
    return this.policies.policyOf(enterpriseId);
  }

  /**
   * The re-check right before a queued notification leaves (consent may have changed since it was
   * queued: an opt-out recorded while the subscriber's endpoint was down stops what was waiting).
   */
  async stillPermits(d: QueuedDisclosure): Promise<boolean> {
    if (d.enterpriseId === null || d.sourceInstitution === null) return false;
    const policy = await this.policyOf(d.enterpriseId);
    if (d.subscriber.implicitRoster && !this.holds(policy, d.subscriber.institutionId)) return false;
    return this.permits(policy, d.subscriber, { sourceInstitution: d.sourceInstitution, labels: d.labels });
  }

  holds(policy: PatientPolicy | null, institutionId: string): boolean {
    return policy?.holdingInstitutions.includes(institutionId) ?? false;
  }

  permits(
    policy: PatientPolicy | null,
    subscriber: { readonly institutionId: string; readonly purposeOfUse: string },
    item: NotifiedItem,
    now: Date = new Date(),
  ): boolean {
    const purpose = asPurpose(subscriber.purposeOfUse);
    const decision = decidePatient(
      this.region,
      policy ?? undefined,
      { institutionId: subscriber.institutionId, purposeOfUse: purpose },
      now,
    );
    const securityLabels = item.labels
      .filter((c) => typeof c.code === 'string' && c.code !== '')
      .map((c) => ({ system: c.system ?? '', code: c.code ?? '' }));
    return decideItem(decision.visibility, { sourceInstitution: item.sourceInstitution, securityLabels })
      .permit;
  }
}

/** What a queued notification needs for the re-check at send (and `$events`) time. */
export interface QueuedDisclosure {
  readonly subscriber: {
    readonly institutionId: string;
    readonly purposeOfUse: string;
    readonly implicitRoster: boolean;
  };
  readonly enterpriseId: string | null;
  readonly sourceInstitution: string | null;
  readonly labels: readonly Coding[];
}

function asPurpose(value: string): PurposeOfUse {
  return (PURPOSES_OF_USE as readonly string[]).includes(value) ? (value as PurposeOfUse) : 'TREAT';
}

/** The disclosure a queued notification makes to its subscription's owner. */
export function disclosureOf(
  subscription: {
    readonly ownerInstitution: string;
    readonly purposeOfUse: string;
    readonly rosterKind: string;
  },
  row: {
    readonly enterpriseId: string | null;
    readonly sourceInstitution: string | null;
    readonly labels: readonly Coding[];
  },
): QueuedDisclosure {
  return {
    subscriber: {
      institutionId: subscription.ownerInstitution,
      purposeOfUse: subscription.purposeOfUse,
      implicitRoster: subscription.rosterKind === 'implicit',
    },
    enterpriseId: row.enterpriseId,
    sourceInstitution: row.sourceInstitution,
    labels: row.labels,
  };
}
