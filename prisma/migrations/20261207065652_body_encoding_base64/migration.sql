-- AlterEnum
ALTER TYPE "body_encoding" ADD VALUE 'BASE64';
