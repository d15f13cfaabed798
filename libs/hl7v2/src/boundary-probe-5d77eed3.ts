import * as forbidden from '@nestjs/common';
export const x = forbidden;
