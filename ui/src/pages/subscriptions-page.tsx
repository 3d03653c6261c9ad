/** Subscriptions: the live worker-availability subscriptions (callbacks told when work arrives). */
import type { Subscription } from '../api/types';
import type { Column } from '../components/simple-table';
import { SimpleTable } from '../components/simple-table';
import { StatusLine } from '../components/status-line';
import { when } from '../format';
import { useApi } from '../use-api';

const COLUMNS: Array<Column<Subscription>> = [
  { header: 'Id', cell: (s) => <span class="mono">{s.subscriptionId.slice(0, 8)}</span> },
  { header: 'Callback', cell: (s) => <span class="clip">{s.callbackUrl}</span> },
  { header: 'Commands', cell: (s) => s.eventTypes.join(', ') },
  { header: 'Delivery', cell: (s) => `${s.deliveryMode}${s.groupId ? ` (${s.groupId})` : ''}` },
  { header: 'Min interval', cell: (s) => `${s.minIntervalSeconds} s` },
  { header: 'Expires', cell: (s) => when(s.expiresAt) },
];

/** The subscriptions page. */
export function SubscriptionsPage() {
  const list = useApi<{ subscriptions: Subscription[] }>('/v1/codeq/workers/subscriptions');
  return (
    <main>
      <h1>Subscriptions</h1>
      <StatusLine error={list.error} />
      {list.data && (
        <SimpleTable
          caption="Live subscriptions"
          rows={list.data.subscriptions}
          columns={COLUMNS}
          rowKey={(s) => s.subscriptionId}
          empty="No live subscription."
        />
      )}
    </main>
  );
}
