// Loaded with `node --import` before main.js so HTTP, pg and redis are patched before they load.
import { startTelemetry } from '@tessera/platform-observability';

startTelemetry('exchange');
