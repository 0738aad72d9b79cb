/**
 * The single table's key layout, shared by infra/ (which creates it) and the stores
 * (which query it), so the two cannot drift.
 */
export const TableLayout = {
  partitionKey: 'pk',
  ownerIndex: { name: 'by-owner', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  ttlAttribute: 'expires_at',
} as const;
