"""A word-level language model: RNN_TANH, RNN_RELU, LSTM, GRU or Transformer.

After PyTorch's examples/word_language_model, on a tiny inline corpus.
Exercises: a Dictionary and batchify/get_batch over a LongTensor corpus,
nn.Embedding, nn.RNN/LSTM/GRU (getattr(nn, rnn_type) construction),
flatten_parameters, nn.TransformerEncoder with a positional encoding buffer
and Transformer.generate_square_subsequent_mask-style masks, log_softmax +
NLLLoss, clip_grad_norm_, the manual SGD update `p.data.add_(p.grad, alpha=-lr)`,
hidden-state detaching, eval under no_grad, and text generation by
torch.multinomial sampling.

Parameters start from NumPy draws and dropout is 0, so training is the
same on every backend; the generated words depend on the random stream and
are printed on a line marked "(rng)".
"""
import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CORPUS = """the cat sat on the mat . the dog sat on the log .
the cat saw the dog . the dog saw the cat on the mat .
a bird sat on the dog . the bird saw a cat on the log .
the mat is on the log . a dog is a dog and a cat is a cat ."""


class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


def tokenize(dictionary, text):
    ids = []
    for line in text.split("\n"):
        words = line.split() + ["<eos>"]
        ids.append(torch.tensor([dictionary.add_word(w) for w in words], dtype=torch.int64))
    return torch.cat(ids)


class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.0):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.0, max_len=64):
        super(PositionalEncoding, self).__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Module):
    """Container module with an encoder, a transformer encoder, and a decoder."""

    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.0):
        super(TransformerModel, self).__init__()
        self.model_type = "Transformer"
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        encoder_layers = nn.TransformerEncoderLayer(ninp, nhead, nhid, dropout)
        self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)

    def _generate_square_subsequent_mask(self, sz):
        return torch.log(torch.tril(torch.ones(sz, sz)))

    def forward(self, src, has_mask=True):
        if has_mask:
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                self.src_mask = self._generate_square_subsequent_mask(len(src))
        else:
            self.src_mask = None
        src = self.encoder(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.transformer_encoder(src, self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def get_batch(source, i, bptt):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=str, default="LSTM",
                        help="RNN_TANH, RNN_RELU, LSTM, GRU or Transformer")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=4.0)
    parser.add_argument("--bptt", type=int, default=6)
    parser.add_argument("--words", type=int, default=12, help="words to generate")
    parser.add_argument("--out", required=True, help="where the final parameters go (.npz)")
    args = parser.parse_args()
    torch.manual_seed(1111)

    dictionary = Dictionary()
    train_data = batchify(tokenize(dictionary, CORPUS), 4)
    ntokens = len(dictionary)
    if args.model == "Transformer":
        model = TransformerModel(ntokens, 16, 2, 32, 2)
    else:
        model = RNNModel(args.model, ntokens, 16, 16, 2)
    rs = np.random.RandomState(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rs.uniform(-0.25, 0.25, tuple(p.shape)).astype(np.float32)))
    criterion = nn.NLLLoss()
    print("vocabulary {} tokens, batches of {}".format(ntokens, tuple(train_data.shape)))

    def evaluate(data_source):
        model.eval()
        total_loss = 0.
        if args.model != "Transformer":
            hidden = model.init_hidden(data_source.size(1))
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, args.bptt):
                data, targets = get_batch(data_source, i, args.bptt)
                if args.model == "Transformer":
                    output = model(data)
                    output = output.view(-1, ntokens)
                else:
                    output, hidden = model(data, hidden)
                    hidden = repackage_hidden(hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    lr = args.lr
    for epoch in range(1, args.epochs + 1):
        model.train()
        total_loss = 0.
        if args.model != "Transformer":
            hidden = model.init_hidden(train_data.size(1))
        for batch, i in enumerate(range(0, train_data.size(0) - 1, args.bptt)):
            data, targets = get_batch(train_data, i, args.bptt)
            model.zero_grad()
            if args.model == "Transformer":
                output = model(data)
                output = output.view(-1, ntokens)
            else:
                hidden = repackage_hidden(hidden)
                output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            total_loss += loss.item()
        val_loss = evaluate(train_data)
        print("| epoch {:3d} | lr {:02.2f} | train loss {:5.4f} | valid loss {:5.4f} | ppl {:8.3f}"
              .format(epoch, lr, total_loss / (batch + 1), val_loss, math.exp(val_loss)))

    # Generation, as examples/word_language_model/generate.py does it.
    model.eval()
    if args.model != "Transformer":
        hidden = model.init_hidden(1)
    input = torch.randint(ntokens, (1, 1), dtype=torch.long)
    words = []
    with torch.no_grad():
        for i in range(args.words):
            if args.model == "Transformer":
                output = model(input, False)
                word_weights = output[-1].squeeze().div(1.0).exp().cpu()
                word_idx = torch.multinomial(word_weights, 1)[0]
                word_tensor = torch.Tensor([[word_idx]]).long()
                input = torch.cat([input, word_tensor], 0)
            else:
                output, hidden = model(input, hidden)
                word_weights = output.squeeze().div(1.0).exp().cpu()
                word_idx = torch.multinomial(word_weights, 1)[0]
                input.fill_(word_idx)
            words.append(dictionary.idx2word[word_idx])
    print("generated (rng): " + " ".join(words))
    np.savez(args.out, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})


if __name__ == "__main__":
    main()
