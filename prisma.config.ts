import { defineConfig } from "prisma/config";

// Prisma 7 does not load `.env`. Only `prisma migrate deploy` and friends need a
// datasource; `prisma generate` runs at postinstall without a database, so an
// unset DATABASE_URL must not be an error here.
const databaseUrl = process.env.DATABASE_URL;

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  ...(databaseUrl ? { datasource: { url: databaseUrl } } : {}),
});
