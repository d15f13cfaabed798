import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { DocumentContent, DocumentContentStore } from './document-content.store';

interface ContentRow {
  readonly sha256: string;
  readonly content_type: string;
  readonly size: string;
  readonly bytes: Buffer;
}

/** DocumentContentStore in the registry's own database (`document_contents`). */
@Injectable()
export class PostgresDocumentContentStore implements DocumentContentStore {
  constructor(private readonly dataSource: DataSource) {}

  async put(content: DocumentContent, tx: EntityManager): Promise<void> {
    await tx.query(
      `INSERT INTO document_contents (sha256, content_type, size, bytes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sha256) DO NOTHING`,
      [content.sha256, content.contentType, content.size, content.bytes],
    );
  }

  async get(sha256: string): Promise<DocumentContent | undefined> {
    const rows = await this.dataSource.query<ContentRow[]>(
      'SELECT sha256, content_type, size, bytes FROM document_contents WHERE sha256 = $1',
      [sha256],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { sha256: row.sha256, contentType: row.content_type, size: Number(row.size), bytes: row.bytes };
  }
}
