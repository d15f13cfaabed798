import { Inject, Injectable } from '@nestjs/common';
import type { Bundle, Identifier, Parameters, Patient } from '@medplum/fhirtypes';
import { MPI_UPSTREAM } from './upstream.tokens';
import { UpstreamStatusError } from './upstream.client';
import type { UpstreamClient } from './upstream.client';

export const ENTERPRISE_ID_SYSTEM = 'urn:tessera:enterprise-id';

/** The MPI's PIXm / PDQm / $match, as the exchange needs them (service token). */
@Injectable()
export class MpiGateway {
  constructor(@Inject(MPI_UPSTREAM) private readonly mpi: UpstreamClient) {}

  /** PIXm: every identifier linked to the person of `system|value`; null when the MPI does not know it (404). */
  async correspondingIdentifiers(system: string, value: string): Promise<Identifier[] | null> {
    try {
      const { body } = await this.mpi.json<Parameters>({
        path: ['Patient', '$ihe-pix'],
        query: new URLSearchParams({ sourceIdentifier: `${system}|${value}` }),
      });
      return (body.parameter ?? [])
        .filter((p) => p.name === 'targetIdentifier' && p.valueIdentifier !== undefined)
        .map((p) => p.valueIdentifier as Identifier);
    } catch (error) {
      if (error instanceof UpstreamStatusError && (error.status === 404 || error.status === 403)) return null;
      throw error;
    }
  }

  /** The enterprise id of a source identifier; null when unknown or not linked. */
  async enterpriseIdOf(system: string, value: string): Promise<string | null> {
    if (system === ENTERPRISE_ID_SYSTEM) return value;
    const ids = await this.correspondingIdentifiers(system, value);
    return ids?.find((i) => i.system === ENTERPRISE_ID_SYSTEM)?.value ?? null;
  }

  /** PDQm search, one page of the MPI (it pages with _count ≤ 100). */
  async search(query: URLSearchParams): Promise<Bundle<Patient>> {
    return (await this.mpi.json<Bundle<Patient>>({ path: ['Patient'], query })).body;
  }

  async match(parameters: unknown): Promise<Bundle<Patient>> {
    return (
      await this.mpi.json<Bundle<Patient>>({ method: 'POST', path: ['Patient', '$match'], body: parameters })
    ).body;
  }
}

/** The enterprise id of a golden record entry (`Patient.id`). */
export function enterpriseIdOfEntry(patient: Patient | undefined): string | null {
  return typeof patient?.id === 'string' ? patient.id : null;
}
