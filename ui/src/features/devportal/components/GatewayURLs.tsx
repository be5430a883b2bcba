import { useQuery } from 'urql';
import { CopyButton } from '../../../components/CopyButton';
import { useSession } from '../../auth/session';
import { DevEnvironmentsQuery } from '../queries';

function UrlList({ urls }: { urls: readonly string[] }) {
  return (
    <ul className="plain">
      {urls.map((u) => (
        <li key={u}>
          <code>{u}</code> <CopyButton value={u} label="Copy URL" />
        </li>
      ))}
    </ul>
  );
}

/**
 * Where consumers call the API: the gateway URLs of each environment it is deployed to.
 * Environments are listed to signed-in users only; anonymous visitors (or an environment
 * the list does not have) get the API's own gateway URLs.
 */
export function GatewayURLs({ deployedTo, fallback }: { deployedTo: readonly string[]; fallback: readonly string[] }) {
  const { me } = useSession();
  const [{ data }] = useQuery({ query: DevEnvironmentsQuery, pause: !me || deployedTo.length === 0 });
  if (deployedTo.length === 0) return <p className="muted">Not deployed to any gateway environment.</p>;
  const envs = data?.environments;
  const deployed = envs?.filter((e) => deployedTo.includes(e.name)) ?? [];
  if (!envs || deployed.length < deployedTo.length) {
    return fallback.length === 0 ? <p className="muted">No gateway URL is configured.</p> : <UrlList urls={fallback} />;
  }
  return (
    <div className="stack">
      {deployed.map((env) => (
        <section key={env.name} aria-label={`Environment ${env.displayName || env.name}`}>
          <h3>{env.displayName || env.name}</h3>
          {env.gatewayURLs.length === 0 ? <p className="muted">No gateway URL is configured.</p> : <UrlList urls={env.gatewayURLs} />}
        </section>
      ))}
    </div>
  );
}
