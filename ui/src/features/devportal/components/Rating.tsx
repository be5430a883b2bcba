import { useMutation } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import { ErrorNotice } from '../../../components/States';
import { RateApiMutation, RatingFields } from '../queries';
import { Stars } from './ApiCard';

export function Rating(props: { api: FragmentType<typeof RatingFields>; signedIn: boolean }) {
  const api = getFragmentData(RatingFields, props.api);
  const [result, rate] = useMutation(RateApiMutation);
  const r = result.data?.rateAPI ?? api.rating;
  return (
    <div className="rating">
      <p>
        <Stars value={r.average} /> {r.average != null ? r.average.toFixed(1) : '—'}{' '}
        <span className="muted">({r.count === 1 ? '1 rating' : `${r.count} ratings`})</span>
      </p>
      {props.signedIn && (
        <fieldset className="fieldset rating-input">
          <legend>Your rating</legend>
          <div className="radios">
            {[1, 2, 3, 4, 5].map((n) => (
              <div key={n} className="field-check">
                <input
                  id={`rate-${n}`}
                  type="radio"
                  name="rating"
                  checked={r.mine === n}
                  disabled={result.fetching}
                  onChange={() => rate({ apiId: api.id, rating: n })}
                />
                <label htmlFor={`rate-${n}`}>{n === 1 ? '1 star' : `${n} stars`}</label>
              </div>
            ))}
          </div>
        </fieldset>
      )}
      <ErrorNotice error={result.error} title="Cannot save your rating" />
    </div>
  );
}
