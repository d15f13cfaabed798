import 'reflect-metadata';
import { ConfigError } from '@tessera/platform-config';
import { bootstrapService } from '@tessera/platform-service';
import { AppModule, serviceOptions } from './app.module';
import { loadGatewaySettings } from './gateway.config';

// The gateway's own settings are checked before migrations or connections: a listener that would
// take unauthenticated senders off loopback stops the boot here (exit 78, EX_CONFIG).
try {
  loadGatewaySettings();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${serviceOptions.name}: cannot start.\n${error.message}\n`);
  process.exit(78);
}
void bootstrapService(AppModule, serviceOptions);
