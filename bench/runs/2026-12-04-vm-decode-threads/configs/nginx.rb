version=2
rule=:%client:ipv4% - %user:word% [%time:char-to{"extradata":"]"}%] "%method:word% %path:word% %proto:char-to{"extradata":"\""}%" %status:number% %bytes:number% "%referer:char-to{"extradata":"\""}%" "%agent:char-to{"extradata":"\""}%"
