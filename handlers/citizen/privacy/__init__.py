"""The citizen's data rights (PIPL, issue #16): /privacy (the notice, what is held, the options, the contact), /mydata
(a copy, Art. 45), correction (Art. 46), /delete (Art. 47), consent withdrawn (Art. 15) and retention (Art. 19)."""
