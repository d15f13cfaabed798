import 'reflect-metadata';
import { bootstrapService } from '@tessera/platform-service';
import { AppModule, serviceOptions } from './app.module';

void bootstrapService(AppModule, serviceOptions);
