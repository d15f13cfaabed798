import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import type { Coding } from '@medplum/fhirtypes';
import { labelsOf, parseLabelingRules } from '@tessera/consent-policy';
import type { ItemLabels, LabeledResource, LabelingRules } from '@tessera/consent-policy';
import { REGISTRY_SETTINGS } from '../registry.config';
import type { RegistrySettings } from '../registry.config';

// The pure labeling functions live in @tessera/consent-policy (the exchange's notifier labels too).
export { labelsOf, mergeLabels, reportLabels, sameLabels } from '@tessera/consent-policy';
export type { ItemLabels, LabeledResource } from '@tessera/consent-policy';

/** The region's labeling rules, read once at boot from REGISTRY_LABELING_RULES_FILE. */
@Injectable()
export class ItemLabeler {
  readonly rules: LabelingRules;

  constructor(@Inject(REGISTRY_SETTINGS) settings: RegistrySettings) {
    this.rules = ItemLabeler.loadRules(settings.REGISTRY_LABELING_RULES_FILE);
  }

  /** Reads and validates the rules; fails with what is wrong and where (boot stops on it). */
  static loadRules(file: string): LabelingRules {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(
        `REGISTRY_LABELING_RULES_FILE ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    try {
      return parseLabelingRules(text);
    } catch (error) {
      throw new Error(`REGISTRY_LABELING_RULES_FILE ${file}: ${(error as Error).message}`);
    }
  }

  labels(resource: LabeledResource, sourceLabels: readonly Coding[]): ItemLabels {
    return labelsOf(resource, sourceLabels, this.rules);
  }
}
