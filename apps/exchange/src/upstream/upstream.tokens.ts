/** DI tokens of the three internal services' clients. */
export const MPI_UPSTREAM = Symbol('MPI_UPSTREAM');
export const REGISTRY_UPSTREAM = Symbol('REGISTRY_UPSTREAM');
export const CONSENT_UPSTREAM = Symbol('CONSENT_UPSTREAM');
