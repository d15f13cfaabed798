import 'reflect-metadata';
import { bootstrapService } from '@tessera/platform-service';
import { AppModule, serviceOptions } from './app.module';
import { runRelabel } from './indexing/relabel.main';

// `relabel`: re-apply the labeling rules to every indexed row (after REGISTRY_LABELING_RULES_FILE changed).
if (process.argv[2] === 'relabel') void runRelabel(serviceOptions);
else void bootstrapService(AppModule, serviceOptions);
