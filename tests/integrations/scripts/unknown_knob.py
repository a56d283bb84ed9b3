# greensearch: knobs=seq_len,warp_drive
print("hello")
