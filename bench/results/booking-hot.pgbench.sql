-- The SQL of one booking, captured from the app (hot mode), one new guest
-- per transaction (guest n, announcement a), as bench/capture.py builds it.
\set k :k + 1
\set n 1 + :client_id + (:k - 1) * :clients
\set a :first + (:n - 1) / :per
\set bid :run * 10000000 + :n
BEGIN;
SELECT user_account.created_at, user_account.updated_at, user_account.id, user_account.email, user_account.name, user_account.bio, user_account.password_hash, user_account.role, user_account.is_active, user_account.is_confirmed, user_account.email_notifications, user_account.locale, user_account.tokens_valid_after, user_account.followers_count, user_account.following_count, user_account.friends_count, user_account.hosted_count, user_account.host_rating_sum, user_account.host_rating_count, user_account.guest_rating_sum, user_account.guest_rating_count 
FROM user_account JOIN auth_session ON auth_session.user_id = user_account.id 
WHERE auth_session.id = (('00000000-0002-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid)::UUID AND user_account.id = (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid)::UUID AND auth_session.revoked_at IS NULL AND auth_session.expires_at > (to_timestamp(1796298659.925794))::TIMESTAMP WITH TIME ZONE AND user_account.is_active IS true AND (user_account.tokens_valid_after IS NULL OR user_account.tokens_valid_after <= (to_timestamp(1796298621.000000))::TIMESTAMP WITH TIME ZONE);
SELECT a.id, a.author_id, a.sub_only, (a.cancelled_at IS NOT NULL OR a.event_time <= (to_timestamp(1796298659.928912))) AS closed,
           h.name AS host_name, h.host_rating_sum, h.host_rating_count,
           EXISTS (
               SELECT 1 FROM follow f
               WHERE f.follower_id = (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid) AND f.followee_id = a.author_id
           ) AS follows_host,
           
           
           pg_advisory_xact_lock(hashtextextended('booking-guest:' || CAST((('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid) AS text), 0))
               IS NULL AS guest_locked
    FROM announcement a JOIN user_account h ON h.id = a.author_id
    WHERE a.id = (('00000000-0005-4000-8000-' || lpad(CAST(:a AS text), 12, '0'))::uuid);
WITH a AS (
        SELECT id, tickets_count, approved_seats, waitlist_count, approval, cancelled_at,
               event_time, ends_at, title, movie_title, location
        FROM announcement WHERE id = (('00000000-0005-4000-8000-' || lpad(CAST(:a AS text), 12, '0'))::uuid)
        FOR UPDATE
    ), verdict AS (
        
        SELECT a.*, CASE
            WHEN (a.cancelled_at IS NOT NULL OR a.event_time <= (to_timestamp(1796298659.930102))) THEN 'announcement_closed'
            WHEN EXISTS (
                SELECT 1 FROM booking b
                WHERE b.announcement_id = a.id AND b.guest_id = (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid)
                  AND b.status IN ('pending', 'approved', 'waitlisted')
            ) THEN 'already_booked'
            WHEN EXISTS (
                SELECT 1 FROM booking b
                WHERE b.guest_id = (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid) AND b.status IN ('pending', 'approved', 'waitlisted')
                  AND b.announcement_id <> a.id
                  AND b.event_time < a.ends_at AND b.ends_at > a.event_time
            ) THEN 'time_conflict'
            
            
            WHEN a.approved_seats + ('1') <= a.tickets_count AND (
                a.approval = 'auto' OR a.waitlist_count = 0
                OR a.approved_seats + ('1') + (
                    SELECT coalesce(sum(b.seats), 0) FROM booking b
                    WHERE b.announcement_id = a.id AND b.status = 'pending'
                ) <= a.tickets_count
            ) THEN
                CASE WHEN a.approval = 'auto' THEN 'approved' ELSE 'pending' END
            WHEN ('f') THEN 'waitlisted'
            ELSE 'no_seats'
        END AS outcome
        FROM a
    ), counters AS (
        UPDATE announcement SET
            approved_seats = announcement.approved_seats
                + CASE WHEN v.outcome = 'approved' THEN ('1') ELSE 0 END,
            waitlist_count = announcement.waitlist_count
                + CASE WHEN v.outcome = 'waitlisted' THEN 1 ELSE 0 END
        FROM verdict v
        WHERE announcement.id = v.id AND v.outcome IN ('approved', 'waitlisted')
    ), new_booking AS (
        INSERT INTO booking (id, created_at, updated_at, announcement_id, guest_id, seats, status,
                             message, event_time, ends_at, approved_at, short_code)
        SELECT (('00000000-0006-4000-8000-' || lpad(CAST(:bid AS text), 12, '0'))::uuid), (to_timestamp(1796298659.930102)), (to_timestamp(1796298659.930102)), v.id, (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid), ('1'), CAST(v.outcome AS booking_status),
               (NULL), v.event_time, v.ends_at,
               CASE WHEN v.outcome = 'approved' THEN CAST((to_timestamp(1796298659.930102)) AS timestamptz) END, ('p' || CAST(:bid AS text))
        FROM verdict v WHERE v.outcome IN ('approved', 'pending', 'waitlisted')
        RETURNING id, status
    ), event AS (
        INSERT INTO domain_event (id, kind, announcement_id, booking_id, actor_id, payload,
                                  created_at, attempts)
        SELECT (('00000000-0007-4000-8000-' || lpad(CAST(:bid * 10 + 0 AS text), 12, '0'))::uuid),
               CASE WHEN nb.status = 'approved' THEN 'booking_approved'
                    ELSE 'booking_requested' END,
               (('00000000-0005-4000-8000-' || lpad(CAST(:a AS text), 12, '0'))::uuid), nb.id, (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid),
               jsonb_build_object('status', CAST(nb.status AS text)), (to_timestamp(1796298659.930102)), 0
        FROM new_booking nb
    )
    SELECT v.outcome, v.tickets_count - v.approved_seats AS tickets_left,
           v.title, v.movie_title, v.event_time, v.location
    FROM verdict v;
COMMIT;
