import { ValidationPipe } from '@nestjs/common';

/**
 * The class-validator check of the demo's DTOs, put on each DTO-typed `@Body()` and `@Query()` rather than
 * registered as a global pipe: a global pipe runs (as a promise) on every parameter of every route,
 * `GET`/`PUT /kv/:key` included, which check their input with their own lighter pipes. A new DTO parameter
 * needs it too.
 */
export const VALIDATE = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });
