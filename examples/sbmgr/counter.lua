-- Counts the messages it matches and reports the count every ticker_interval.
count = 0

function process_message()
    count = count + 1
    return 0
end

function timer_event(ns)
    inject_payload("txt", "count", "messages seen: ", count)
end
