import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Institution } from './institution';

@Entity({ name: 'institutions' })
export class InstitutionOrmEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'jsonb' })
  document!: Institution;

  /** Optimistic lock: an update names the version it read. */
  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** MSH-4 code → institution; the primary key makes a code belong to one institution only. */
@Entity({ name: 'institution_facilities' })
export class InstitutionFacilityOrmEntity {
  @PrimaryColumn({ type: 'text' })
  code!: string;

  @Column({ name: 'institution_id', type: 'text' })
  institutionId!: string;
}
