// SMART Backend Services client of the demo region (client assertions, demo keys).
export { CLIENT_ASSERTION_TYPE, signClientAssertion, tokenRequestBody } from './client-assertion';
export type { ClientKey } from './client-assertion';
export {
  DEMO_CLIENTS_FILE,
  DEMO_KEYS_DIR,
  generateClientKey,
  keyFile,
  readClientKey,
  registeredScopes,
} from './demo-keys';
